// Typed failures of the protobuf layer (framing has its own FrameError).

export type AesmWireErrorReason =
  /** The body is not a parseable aesm.message.Response. */
  | 'invalid-protobuf'
  /** The response carries no sub-message at all. */
  | 'missing-submessage'
  /** The response answers a different operation than the one asked (Intel's client would crash). */
  | 'wrong-submessage'
  /** The value given to an encoder cannot be represented (e.g. a uint32 out of range). */
  | 'unencodable';

export class AesmWireError extends Error {
  override readonly name = 'AesmWireError';
  readonly reason: AesmWireErrorReason;

  constructor(reason: AesmWireErrorReason, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.reason = reason;
  }
}
