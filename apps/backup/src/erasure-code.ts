// k-of-n erasure coding: a systematic Reed-Solomon code over GF(2^8) with a Cauchy parity
// matrix. Shards 0..k-1 are the data itself (cut in k equal parts, the last padded with
// zeros), shards k..n-1 are parity; any k shards give the data back. Every square submatrix
// of a Cauchy matrix is invertible, so every k rows of [I; C] are too. Written here because
// npm's candidates do not fit (apps/backup/README.md, "Erasure coding").
const POLY = 0x11d;
const EXP = new Uint8Array(512);
const LOG = new Uint8Array(256);
{
  let x = 1;
  for (let i = 0; i < 255; i++) {
    EXP[i] = x;
    LOG[x] = i;
    x <<= 1;
    if (x & 0x100) x ^= POLY;
  }
  for (let i = 255; i < 512; i++) EXP[i] = EXP[i - 255] as number;
}

export const gfMul = (a: number, b: number): number => (a === 0 || b === 0 ? 0 : (EXP[(LOG[a] as number) + (LOG[b] as number)] as number));
export const gfInv = (a: number): number => {
  if (a === 0) throw new RangeError('0 has no inverse');
  return EXP[255 - (LOG[a] as number)] as number;
};

// one 256-entry product table per coefficient: the inner loop is a lookup and a xor
const tables = new Map<number, Uint8Array>();
function mulTable(c: number): Uint8Array {
  let table = tables.get(c);
  if (!table) {
    table = new Uint8Array(256);
    for (let v = 0; v < 256; v++) table[v] = gfMul(c, v);
    tables.set(c, table);
  }
  return table;
}

/** out ^= c * input, byte by byte. */
function mulAdd(out: Uint8Array, input: Uint8Array, c: number): void {
  if (c === 0) return;
  const n = out.length;
  if (c === 1) {
    for (let i = 0; i < n; i++) out[i] = (out[i] as number) ^ (input[i] as number);
    return;
  }
  const table = mulTable(c);
  for (let i = 0; i < n; i++) out[i] = (out[i] as number) ^ (table[input[i] as number] as number);
}

export interface CodeShape {
  /** Shards needed to rebuild. */
  k: number;
  /** Shards made. */
  n: number;
}

export function checkShape({ k, n }: CodeShape): void {
  if (!Number.isInteger(k) || !Number.isInteger(n) || k < 1 || n < k || n > 255) {
    throw new RangeError(`a k-of-n code needs 1 <= k <= n <= 255 (got k=${k}, n=${n})`);
  }
}

/** Row `row` (0..n-1) of the n×k encoding matrix [I; C], C[i][j] = 1 / (x_i + y_j), x_i = k + i, y_j = j. */
function matrixRow(row: number, k: number): number[] {
  if (row < k) return Array.from({ length: k }, (_, j) => (j === row ? 1 : 0));
  return Array.from({ length: k }, (_, j) => gfInv(row ^ j));
}

export const shardSize = (length: number, k: number): number => Math.max(1, Math.ceil(length / k));

/** Cuts `data` into n shards of shardSize(data.length, k) bytes each. */
export function encode(data: Uint8Array, shape: CodeShape): Buffer[] {
  checkShape(shape);
  const { k, n } = shape;
  const size = shardSize(data.length, k);
  const shards: Buffer[] = [];
  for (let i = 0; i < k; i++) {
    const shard = Buffer.alloc(size);
    shard.set(data.subarray(i * size, Math.min(data.length, (i + 1) * size)));
    shards.push(shard);
  }
  for (let row = k; row < n; row++) {
    const parity = Buffer.alloc(size);
    const coefficients = matrixRow(row, k);
    for (let j = 0; j < k; j++) mulAdd(parity, shards[j] as Buffer, coefficients[j] as number);
    shards.push(parity);
  }
  return shards;
}

/** Inverts a k×k matrix over GF(2^8) (Gauss-Jordan). */
function invert(matrix: number[][]): number[][] {
  const k = matrix.length;
  const a = matrix.map((row, i) => [...row, ...Array.from({ length: k }, (_, j) => (i === j ? 1 : 0))]);
  for (let col = 0; col < k; col++) {
    const pivot = a.findIndex((row, r) => r >= col && row[col] !== 0);
    if (pivot === -1) throw new Error('singular matrix: the shards chosen cannot rebuild the data');
    [a[col], a[pivot]] = [a[pivot] as number[], a[col] as number[]];
    const pivotRow = a[col] as number[];
    const scale = gfInv(pivotRow[col] as number);
    for (let j = 0; j < 2 * k; j++) pivotRow[j] = gfMul(pivotRow[j] as number, scale);
    for (let r = 0; r < k; r++) {
      const row = a[r] as number[];
      const factor = row[col] as number;
      if (r === col || factor === 0) continue;
      for (let j = 0; j < 2 * k; j++) row[j] = (row[j] as number) ^ gfMul(factor, pivotRow[j] as number);
    }
  }
  return a.map((row) => row.slice(k));
}

/**
 * Rebuilds the original `length` bytes from any k shards; `shards[i]` is shard i or
 * undefined when it is missing.
 */
export function decode(shards: readonly (Uint8Array | undefined)[], shape: CodeShape, length: number): Buffer {
  checkShape(shape);
  const { k, n } = shape;
  const size = shardSize(length, k);
  const present: number[] = [];
  for (let i = 0; i < n && present.length < k; i++) {
    const shard = shards[i];
    if (!shard) continue;
    if (shard.length !== size) throw new RangeError(`shard ${i} has ${shard.length} bytes, not ${size}`);
    present.push(i);
  }
  if (present.length < k) throw new RangeError(`${present.length} shards present, ${k} needed`);
  const data: Uint8Array[] = [];
  if (present.every((index, position) => index === position)) {
    for (let i = 0; i < k; i++) data.push(shards[i] as Uint8Array);
  } else {
    const inverse = invert(present.map((row) => matrixRow(row, k)));
    for (let i = 0; i < k; i++) {
      const out = Buffer.alloc(size);
      for (let j = 0; j < k; j++) mulAdd(out, shards[present[j] as number] as Uint8Array, (inverse[i] as number[])[j] as number);
      data.push(out);
    }
  }
  const out = Buffer.alloc(length);
  for (let i = 0; i < k; i++) {
    const start = i * size;
    if (start >= length) break;
    out.set((data[i] as Uint8Array).subarray(0, Math.min(size, length - start)), start);
  }
  return out;
}

/** Re-creates the shards at `indices` from any k present shards (repair). */
export function rebuild(shards: readonly (Uint8Array | undefined)[], shape: CodeShape, length: number, indices: readonly number[]): Map<number, Buffer> {
  const all = encode(decode(shards, shape, length), shape);
  return new Map(indices.map((i) => [i, all[i] as Buffer]));
}
