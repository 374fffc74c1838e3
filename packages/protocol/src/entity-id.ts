/** An entity is named by its Ed25519 public key, written as 64 lowercase hex characters. */
export type EntityId = string & { readonly __brand: 'EntityId' };

const ENTITY_ID = /^[0-9a-f]{64}$/;

export function isEntityId(text: string): text is EntityId {
  return ENTITY_ID.test(text);
}
