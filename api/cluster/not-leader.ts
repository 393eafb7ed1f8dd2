// The refusal of a write by an instance that does not lead the cluster (or no longer certainly does).
export class NotLeaderError extends Error {
  constructor(why: string) {
    super(`not the cluster leader: ${why}`);
    this.name = 'NotLeaderError';
  }
}
