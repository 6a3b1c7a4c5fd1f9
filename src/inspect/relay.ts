/** What the local inspector server keeps for viewers that connect after events were sent. */
export class RelayBuffer {
  private items: string[] = [];
  /** Messages dropped because the buffer was full (the oldest go first). */
  dropped = 0;

  constructor(private readonly capacity: number) {}

  push(message: string): void {
    this.items.push(message);
    // Trim in chunks so a full buffer does not shift an array on every message.
    if (this.items.length >= this.capacity * 2) this.trim();
  }

  /** The kept messages, oldest first (at most `capacity`). */
  messages(): string[] {
    this.trim();
    return this.items;
  }

  private trim(): void {
    const excess = this.items.length - this.capacity;
    if (excess <= 0) return;
    this.items = this.items.slice(excess);
    this.dropped += excess;
  }
}
