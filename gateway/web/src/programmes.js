// Programme pickers of the institution pages, filled from GET /v1/programmes.
import { getJson } from "./api.js";
import { fill, h } from "./dom.js";
import { institutionKey } from "./institution.js";

export const KIND_LABELS = {
  "monthly-gap": "低保 minimum allowance",
  "monthly-fixed": "特困 destitute support",
  temporary: "臨時 temporary",
  medical: "醫療 medical",
  disaster: "災害 disaster",
  voucher: "救助券 voucher",
};

export const programmeLabel = (p) => `${p.programmeId} · ${KIND_LABELS[p.kind] ?? p.kind} · ${p.region}`;

/** Fills each select with the programmes; `anyLabel` adds an "all programmes" choice first. */
export async function fillProgrammes(selects, anyLabel) {
  const { programmes } = await getJson(institutionKey, "/programmes");
  for (const select of selects) {
    fill(
      select,
      anyLabel ? h("option", { value: "" }, anyLabel) : null,
      programmes.map((p) => h("option", { value: p.programmeId }, programmeLabel(p))),
    );
  }
  return programmes;
}
