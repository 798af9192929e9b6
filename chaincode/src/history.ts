/**
 * Traces: the history of one world-state key (`GetHistoryForKey`), for auditors following a case, a pool or an
 * anchor through its transactions. A read-only query: a peer does not re-check history reads at commit.
 */
import { invalidArgument } from "./refusal";
import type { Json } from "./codec";
import type { ReliefContext } from "./context";

export interface KeyModification {
  txId: string;
  timestamp: number;
  isDelete: boolean;
  value: unknown;
}

/** `{ "key": "<simple key>" }` or `{ "objectType": "case", "attributes": ["0x…"] }`. */
export async function keyHistory(ctx: ReliefContext, input: Json): Promise<KeyModification[]> {
  let key: string;
  if (typeof input.key === "string" && input.key !== "") key = input.key;
  else if (
    typeof input.objectType === "string" &&
    Array.isArray(input.attributes) &&
    input.attributes.every((a) => typeof a === "string")
  ) {
    key = ctx.stub.createCompositeKey(input.objectType, input.attributes as string[]);
  } else return invalidArgument("key", "missing");
  const out: KeyModification[] = [];
  for await (const m of ctx.stub.getHistoryForKey(key)) {
    const text = Buffer.from(m.value).toString("utf8");
    out.push({
      txId: m.txId,
      timestamp: Number(m.timestamp.seconds),
      isDelete: m.isDelete,
      value: m.isDelete || text === "" ? null : (JSON.parse(text) as unknown),
    });
  }
  return out;
}
