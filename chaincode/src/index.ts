/** The chaincode's entry point, as fabric-chaincode-node expects it: the contracts array. */
import { ReliefContract } from "./contract";

export { ReliefContract } from "./contract";
export const contracts = [ReliefContract];
