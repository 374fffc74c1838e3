// Before any sale, video.com stores its videos on peers: it buys a basic storage contract
// (paper, section 4) and pays the write price, in the currency of the peer's offer.
import { parseAmount, type EntityId } from '@lcp/protocol';
import { chargedKb, StorageNodeClient } from '@lcp/storage-node';
import type { Video } from './catalog.js';
import type { Payer } from './payer.js';
import type { Placement, PublisherStore } from './store.js';

export interface Peer {
  url: string;
  nodeId: string;
}

/** Buys a contract from `peer`, pays for the write, stores the video there, and records it. */
export async function placeVideo(
  video: Video,
  peer: Peer,
  deps: { payer: Payer; store: PublisherStore; connect: (peer: Peer) => StorageNodeClient },
): Promise<Placement> {
  const node = deps.connect(peer);
  try {
    const offer = await node.offer();
    const price = (decimal: string) => {
      const parsed = parseAmount(decimal, offer.currency.scale);
      if (!parsed.ok) throw new Error(`offer from ${peer.nodeId}: ${parsed.reason}`);
      return parsed.value;
    };
    const contractPayment = `contract-${offer.offerId}`;
    await deps.payer.pay(offer.currency, offer.payTo, price(offer.contractPrice), contractPayment);
    const contract = await node.buyContract({ offerId: offer.offerId, paymentTransactionId: contractPayment });

    const writePayment = `write-${contract.contractId}-${video.id}`;
    await deps.payer.pay(offer.currency, offer.payTo, price(offer.writePricePerKb) * chargedKb(video.size), writePayment);
    await node.write(contract.contractId, video.id, video.bytes, writePayment);

    const placement: Placement = { videoId: video.id, nodeId: peer.nodeId as EntityId, url: peer.url, contract, objectId: video.id };
    deps.store.addPlacement(placement);
    return placement;
  } finally {
    node.close();
  }
}
