// Typed view over the generated aesm.message code: what the daemon decodes from clients and what
// it sends back, and the mirror image for our own client. Encoding and decoding is done by
// @bufbuild/protobuf; this file adds the protocol rules the library does not know about.
import { ScalarType, create, fromBinary, isFieldSet, toBinary, type DescField, type DescMessage } from '@bufbuild/protobuf';
import { reflect, type ReflectMessage } from '@bufbuild/protobuf/reflect';
import { BinaryReader, BinaryWriter, WireType } from '@bufbuild/protobuf/wire';
import {
  RequestSchema,
  Request_GetQuoteExRequestSchema,
  Request_GetQuoteSizeExRequestSchema,
  Request_GetSupportedAttKeyIDNumRequestSchema,
  Request_GetSupportedAttKeyIDsRequestSchema,
  Request_InitQuoteExRequestSchema,
  Request_SelectAttKeyIDRequestSchema,
  ResponseSchema,
  Response_GetQuoteExResponseSchema,
  Response_GetQuoteSizeExResponseSchema,
  Response_GetSupportedAttKeyIDNumResponseSchema,
  Response_GetSupportedAttKeyIDsResponseSchema,
  Response_InitQuoteExResponseSchema,
  Response_SelectAttKeyIDResponseSchema,
  type Request,
  type Response,
} from './gen/aesm_pb.js';
import { AesmCode } from './errors.js';
import {
  LEGACY_REQUEST_FIELDS,
  QUOTE_EX_FIELD,
  REQUEST_DISPATCH_ORDER,
  UNSUPPORTED_REQUEST_RESPONSE_FIELD,
  isLegacyField,
  operationForField,
} from './kinds.js';
import type { AesmOperation } from './status-mapping.js';
import { AesmWireError } from './wire-error.js';
import { encodeFrame, FRAME_HEADER_SIZE } from './framing.js';

// sgx_qe_report_info_t; the layout itself belongs to src/sgx, only the size matters here.
const QE_REPORT_INFO_SIZE = 960;

/** What Intel's libsgx_quote_ex writes into every request's `timeout` (release build, ms). */
export const INTEL_CLIENT_TIMEOUT_MS = 15000;

export type AesmRequest =
  | { kind: 'selectAttKeyId'; attKeyIdList?: Buffer }
  | { kind: 'initQuoteEx'; attKeyId?: Buffer; bPubKeyId: boolean; bufSize?: bigint }
  | { kind: 'getQuoteSizeEx'; attKeyId?: Buffer }
  | { kind: 'getQuoteEx'; report: Buffer; attKeyId?: Buffer; qeReportInfo?: Buffer; bufSize: number }
  | { kind: 'getSupportedAttKeyIdNum' }
  | { kind: 'getSupportedAttKeyIds'; bufSize: number }
  /** EPID / launch token / white list / …: recognised so the daemon can answer in the same field. */
  | { kind: 'legacy'; fieldNumber: number; name: string };

export type AesmRequestKind = AesmRequest['kind'];

export type DecodedRequest =
  | {
      ok: true;
      /** Wrapper field number of the sub-message that was chosen (aesmd's order, spec §8 item 13). */
      fieldNumber: number;
      request: AesmRequest;
      /**
       * Proto names of required fields absent from the chosen sub-message. When non-empty, aesmd
       * answers errorCode 1 in the matching response sub-message; absent values read as 0/empty.
       */
      missingRequired: string[];
    }
  /** aesmd closes the connection without any reply in both cases (spec §1.2). */
  | { ok: false; reason: 'invalid-protobuf' | 'no-submessage' };

export type AesmResponse =
  | { kind: 'selectAttKeyId'; errorCode: number; selectedAttKeyId?: Buffer }
  | { kind: 'initQuoteEx'; errorCode: number; targetInfo?: Buffer; pubKeyIdSize?: bigint; pubKeyId?: Buffer }
  | { kind: 'getQuoteSizeEx'; errorCode: number; quoteSize?: number }
  | {
      kind: 'getQuoteEx';
      errorCode: number;
      quote?: Buffer;
      /**
       * Zero bytes that follow `quote` in the quote field (aesmd returns all of buf_size, spec §4.2):
       * added by the encoder, so there is never a padded copy of the quote; encodeResponseFrameParts
       * points them into one shared zero buffer. Never set by decodeResponse (the decoded quote includes them).
       */
      quotePadding?: number;
      qeReportInfo?: Buffer;
    }
  | { kind: 'getSupportedAttKeyIdNum'; errorCode: number; attKeyIdNum?: number }
  | { kind: 'getSupportedAttKeyIds'; errorCode: number; attKeyIds?: Buffer }
  /** errorCode-only answer in legacy sub-message `fieldNumber`. */
  | { kind: 'legacy'; fieldNumber: number; errorCode: number };

export type AesmResponseKind = AesmResponse['kind'];

// protobuf-es marks proto2 `required` fields with this presence value (FeatureSet.LEGACY_REQUIRED).
const LEGACY_REQUIRED = 3;

const requestFieldByNumber = new Map<number, DescField>(RequestSchema.fields.map((f) => [f.number, f]));
const responseFieldByNumber = new Map<number, DescField>(ResponseSchema.fields.map((f) => [f.number, f]));

// Decoded `bytes` are views into the input; copying keeps requests independent of the frame buffer.
const copy = (bytes: Uint8Array): Buffer => Buffer.from(bytes);

function missingRequiredFields(desc: DescMessage, message: ReflectMessage): string[] {
  return desc.fields.filter((f) => f.presence === LEGACY_REQUIRED && !message.isSet(f)).map((f) => f.name);
}

/** Field number of the wrapper field that carries `req` (and must carry its response). */
export function requestFieldNumber(req: AesmRequest): number {
  return req.kind === 'legacy' ? req.fieldNumber : QUOTE_EX_FIELD[req.kind];
}

/** The response kind (and thereby field number) a request must be answered with. */
export function responseKindFor(req: AesmRequest): AesmResponseKind {
  return req.kind;
}

/**
 * An error answer for `req`, in the right sub-message, shaped like real aesmd's: InitQuoteEx carries
 * `pub_key_id_size` (the request's buf_size when b_pub_key_id was set, else 0, so a garbage size from
 * the DCAP wrapper is never echoed), GetQuoteSizeEx `quote_size` 0, GetQuoteEx the request's
 * 960-byte `qe_report_info` unchanged.
 */
export function errorResponseFor(req: AesmRequest, errorCode: number): AesmResponse {
  switch (req.kind) {
    case 'legacy':
      return { kind: 'legacy', fieldNumber: req.fieldNumber, errorCode };
    case 'initQuoteEx':
      return { kind: 'initQuoteEx', errorCode, pubKeyIdSize: req.bPubKeyId ? (req.bufSize ?? 0n) : 0n };
    case 'getQuoteSizeEx':
      // aesmd always sets quote_size (0 on error); Fortanix insists on its presence.
      return { kind: 'getQuoteSizeEx', errorCode, quoteSize: 0 };
    case 'getQuoteEx':
      // aesmd echoes qe_report_info unmodified on error; only a well-sized one, since the client
      // turns anything above 960 bytes into SGX_ERROR_UNEXPECTED and would mask errorCode.
      return req.qeReportInfo?.length === QE_REPORT_INFO_SIZE
        ? { kind: 'getQuoteEx', errorCode, qeReportInfo: req.qeReportInfo }
        : { kind: 'getQuoteEx', errorCode };
    default:
      return { kind: req.kind, errorCode };
  }
}

// ---------------------------------------------------------------------------------------------
// Requests

export function decodeRequest(body: Uint8Array): DecodedRequest {
  return decodeGetQuoteExDirect(body) ?? decodeRequestWithSchema(body);
}

/** The general path: protobuf-es with the generated schema, for every request (and the reference in tests). */
export function decodeRequestWithSchema(body: Uint8Array): DecodedRequest {
  let msg: Request;
  try {
    msg = fromBinary(RequestSchema, withoutMismatchedWireTypes(RequestSchema, body));
  } catch {
    return { ok: false, reason: 'invalid-protobuf' };
  }
  const wrapper = reflect(RequestSchema, msg);
  for (const fieldNumber of REQUEST_DISPATCH_ORDER) {
    const field = requestFieldByNumber.get(fieldNumber);
    if (!field || field.fieldKind !== 'message' || !wrapper.isSet(field)) continue;
    const sub = wrapper.get(field);
    const missingRequired = missingRequiredFields(field.message, sub);
    return { ok: true, fieldNumber, request: typedRequest(msg, fieldNumber), missingRequired };
  }
  return { ok: false, reason: 'no-submessage' };
}

/** The wire type libprotobuf expects for a singular field, or undefined for kinds our schema does not use. */
function expectedWireType(field: DescField): WireType | undefined {
  if (field.fieldKind === 'message') return WireType.LengthDelimited;
  if (field.fieldKind === 'enum') return WireType.Varint;
  if (field.fieldKind !== 'scalar') return undefined;
  switch (field.scalar) {
    case ScalarType.BYTES:
    case ScalarType.STRING:
      return WireType.LengthDelimited;
    case ScalarType.FIXED32:
    case ScalarType.SFIXED32:
    case ScalarType.FLOAT:
      return WireType.Bit32;
    case ScalarType.FIXED64:
    case ScalarType.SFIXED64:
    case ScalarType.DOUBLE:
      return WireType.Bit64;
    default:
      return WireType.Varint;
  }
}

/**
 * libprotobuf (what aesmd links) treats a known field number arriving with the wrong wire type as an
 * unknown field: it is kept aside, never decoded into the field. protobuf-es instead decodes it as the
 * field's type whatever the wire type, so a `buf_size` sent as bytes would get a value aesmd never sees.
 * This drops such fields (and unknown ones, which we ignore anyway), recursing into sub-messages, so
 * the decoded message holds exactly what aesmd would read. Damaged input still throws, as it must.
 */
export function withoutMismatchedWireTypes(desc: DescMessage, bytes: Uint8Array, depth = 0): Uint8Array {
  if (depth > 8) throw new Error('nesting too deep');
  const r = new BinaryReader(bytes);
  const kept: Uint8Array[] = [];
  let changed = false;
  while (r.pos < bytes.length) {
    const start = r.pos;
    const [no, type] = r.tag();
    const field = desc.fields.find((f) => f.number === no);
    if (field && field.fieldKind === 'message' && type === WireType.LengthDelimited) {
      const inner = r.bytes();
      const cleaned = withoutMismatchedWireTypes(field.message, inner, depth + 1);
      if (cleaned === inner) kept.push(bytes.subarray(start, r.pos));
      else {
        changed = true;
        kept.push(new BinaryWriter().tag(no, WireType.LengthDelimited).bytes(cleaned).finish());
      }
      continue;
    }
    r.skip(type, no);
    if (field && expectedWireType(field) === type) kept.push(bytes.subarray(start, r.pos));
    else changed = true;
  }
  if (!changed) return bytes;
  return Buffer.concat(kept);
}

/**
 * GetQuoteEx is the daemon's hot request. When the body is exactly what Intel's client sends (only
 * the getQuoteExReq wrapper field, each of its fields at most once, required ones present, nothing
 * unknown), it is read field by field with protobuf-es's own BinaryReader, skipping the message
 * objects. Anything else (repeated or unknown fields, other requests, damage) returns undefined and
 * takes the schema path; the same reader decodes the varints either way, so both paths agree.
 */
function decodeGetQuoteExDirect(body: Uint8Array): DecodedRequest | undefined {
  const wrapperField = QUOTE_EX_FIELD.getQuoteEx;
  let report: Uint8Array | undefined;
  let attKeyId: Uint8Array | undefined;
  let qeReportInfo: Uint8Array | undefined;
  let bufSize: number | undefined;
  let timeoutSeen = false;
  try {
    const r = new BinaryReader(body);
    const [outer, outerType] = r.tag();
    if (outer !== wrapperField || outerType !== WireType.LengthDelimited) return undefined;
    const length = r.uint32();
    if (r.pos + length !== body.length) return undefined;
    while (r.pos < body.length) {
      const [no, type] = r.tag();
      if (type === WireType.LengthDelimited && (no === 1 || no === 2 || no === 3)) {
        const bytes = r.bytes();
        if (no === 1) {
          if (report) return undefined;
          report = bytes;
        } else if (no === 2) {
          if (attKeyId) return undefined;
          attKeyId = bytes;
        } else {
          if (qeReportInfo) return undefined;
          qeReportInfo = bytes;
        }
      } else if (type === WireType.Varint && no === 4) {
        if (bufSize !== undefined) return undefined;
        bufSize = r.uint32();
      } else if (type === WireType.Varint && no === 9) {
        if (timeoutSeen) return undefined;
        timeoutSeen = true;
        r.uint32();
      } else {
        return undefined;
      }
    }
  } catch {
    return undefined; // damaged input: the schema path reports it
  }
  if (!report || bufSize === undefined) return undefined;
  const request: AesmRequest = { kind: 'getQuoteEx', report: copy(report), bufSize };
  if (attKeyId) request.attKeyId = copy(attKeyId);
  if (qeReportInfo) request.qeReportInfo = copy(qeReportInfo);
  return { ok: true, fieldNumber: wrapperField, request, missingRequired: [] };
}

function typedRequest(msg: Request, fieldNumber: number): AesmRequest {
  const op = operationForField(fieldNumber);
  switch (op) {
    case 'selectAttKeyId': {
      const m = msg.selectAttKeyIDReq!;
      const req: AesmRequest = { kind: op };
      if (isFieldSet(m, Request_SelectAttKeyIDRequestSchema.field.attKeyIdList)) req.attKeyIdList = copy(m.attKeyIdList);
      return req;
    }
    case 'initQuoteEx': {
      const m = msg.initQuoteExReq!;
      const req: AesmRequest = { kind: op, bPubKeyId: m.bPubKeyId };
      if (isFieldSet(m, Request_InitQuoteExRequestSchema.field.attKeyId)) req.attKeyId = copy(m.attKeyId);
      if (isFieldSet(m, Request_InitQuoteExRequestSchema.field.bufSize)) req.bufSize = m.bufSize;
      return req;
    }
    case 'getQuoteSizeEx': {
      const m = msg.getQuoteSizeExReq!;
      const req: AesmRequest = { kind: op };
      if (isFieldSet(m, Request_GetQuoteSizeExRequestSchema.field.attKeyId)) req.attKeyId = copy(m.attKeyId);
      return req;
    }
    case 'getQuoteEx': {
      const m = msg.getQuoteExReq!;
      const req: AesmRequest = { kind: op, report: copy(m.report), bufSize: m.bufSize };
      if (isFieldSet(m, Request_GetQuoteExRequestSchema.field.attKeyId)) req.attKeyId = copy(m.attKeyId);
      if (isFieldSet(m, Request_GetQuoteExRequestSchema.field.qeReportInfo)) req.qeReportInfo = copy(m.qeReportInfo);
      return req;
    }
    case 'getSupportedAttKeyIdNum':
      return { kind: op };
    case 'getSupportedAttKeyIds':
      return { kind: op, bufSize: msg.getSupportedAttKeyIDsReq!.bufSize };
    case undefined:
      return { kind: 'legacy', fieldNumber, name: LEGACY_REQUEST_FIELDS.get(fieldNumber) ?? `field${fieldNumber}` };
  }
}

export interface EncodeRequestOptions {
  /** Value for the `timeout` field (field 2 in SelectAttKeyID, 9 elsewhere); omitted when undefined. */
  timeoutMs?: number;
}

/**
 * Serialises `req` as Intel's client does: fields in field-number order, optional fields only when
 * given. With `timeoutMs: INTEL_CLIENT_TIMEOUT_MS` the output matches spec §9 byte for byte.
 * Legacy requests get their required fields as zero values (only useful for testing daemons).
 */
export function encodeRequest(req: AesmRequest, opts: EncodeRequestOptions = {}): Buffer {
  const timeout = opts.timeoutMs === undefined ? {} : { timeout: opts.timeoutMs };
  return guardEncode(() => {
    switch (req.kind) {
      case 'selectAttKeyId':
        return toBinary(RequestSchema, create(RequestSchema, {
          selectAttKeyIDReq: create(Request_SelectAttKeyIDRequestSchema, {
            ...(req.attKeyIdList !== undefined && { attKeyIdList: req.attKeyIdList }),
            ...timeout,
          }),
        }));
      case 'initQuoteEx':
        return toBinary(RequestSchema, create(RequestSchema, {
          initQuoteExReq: create(Request_InitQuoteExRequestSchema, {
            ...(req.attKeyId !== undefined && { attKeyId: req.attKeyId }),
            bPubKeyId: req.bPubKeyId,
            ...(req.bufSize !== undefined && { bufSize: req.bufSize }),
            ...timeout,
          }),
        }));
      case 'getQuoteSizeEx':
        return toBinary(RequestSchema, create(RequestSchema, {
          getQuoteSizeExReq: create(Request_GetQuoteSizeExRequestSchema, {
            ...(req.attKeyId !== undefined && { attKeyId: req.attKeyId }),
            ...timeout,
          }),
        }));
      case 'getQuoteEx':
        return toBinary(RequestSchema, create(RequestSchema, {
          getQuoteExReq: create(Request_GetQuoteExRequestSchema, {
            report: req.report,
            ...(req.attKeyId !== undefined && { attKeyId: req.attKeyId }),
            ...(req.qeReportInfo !== undefined && { qeReportInfo: req.qeReportInfo }),
            bufSize: req.bufSize,
            ...timeout,
          }),
        }));
      case 'getSupportedAttKeyIdNum':
        return toBinary(RequestSchema, create(RequestSchema, {
          getSupportedAttKeyIDNumReq: create(Request_GetSupportedAttKeyIDNumRequestSchema, { ...timeout }),
        }));
      case 'getSupportedAttKeyIds':
        return toBinary(RequestSchema, create(RequestSchema, {
          getSupportedAttKeyIDsReq: create(Request_GetSupportedAttKeyIDsRequestSchema, {
            bufSize: req.bufSize,
            ...timeout,
          }),
        }));
      case 'legacy':
        return encodeLegacyRequest(req.fieldNumber, opts.timeoutMs);
    }
  });
}

function encodeLegacyRequest(fieldNumber: number, timeoutMs: number | undefined): Uint8Array {
  const field = requestFieldByNumber.get(fieldNumber);
  if (!isLegacyField(fieldNumber) || !field || field.fieldKind !== 'message') {
    throw new AesmWireError('unencodable', `request field ${fieldNumber} is not a legacy AESM request`);
  }
  const sub = reflect(field.message);
  for (const f of field.message.fields) {
    if (f.fieldKind !== 'scalar') continue;
    if (f.presence === LEGACY_REQUIRED) sub.set(f, zeroScalar(f));
    else if (f.name === 'timeout' && timeoutMs !== undefined) sub.set(f, timeoutMs);
  }
  const wrapper = reflect(RequestSchema);
  wrapper.set(field, sub);
  return toBinary(RequestSchema, wrapper.message as Request);
}

function zeroScalar(field: DescField & { fieldKind: 'scalar' }): unknown {
  switch (field.scalar) {
    case 12: // BYTES
      return new Uint8Array(0);
    case 8: // BOOL
      return false;
    default:
      return 0;
  }
}

// ---------------------------------------------------------------------------------------------
// Responses

/** Serialises a response body. errorCode is always written, also when 0 (spec §8 item 2). */
export function encodeResponse(res: AesmResponse): Buffer {
  return guardEncode(() => {
    switch (res.kind) {
      case 'selectAttKeyId':
        return toBinary(ResponseSchema, create(ResponseSchema, {
          selectAttKeyIDRes: create(Response_SelectAttKeyIDResponseSchema, {
            errorCode: res.errorCode,
            ...(res.selectedAttKeyId !== undefined && { selectedAttKeyId: res.selectedAttKeyId }),
          }),
        }));
      case 'initQuoteEx':
        return toBinary(ResponseSchema, create(ResponseSchema, {
          initQuoteExRes: create(Response_InitQuoteExResponseSchema, {
            errorCode: res.errorCode,
            ...(res.targetInfo !== undefined && { targetInfo: res.targetInfo }),
            ...(res.pubKeyIdSize !== undefined && { pubKeyIdSize: res.pubKeyIdSize }),
            ...(res.pubKeyId !== undefined && { pubKeyId: res.pubKeyId }),
          }),
        }));
      case 'getQuoteSizeEx':
        return toBinary(ResponseSchema, create(ResponseSchema, {
          getQuoteSizeExRes: create(Response_GetQuoteSizeExResponseSchema, {
            errorCode: res.errorCode,
            ...(res.quoteSize !== undefined && { quoteSize: res.quoteSize }),
          }),
        }));
      case 'getQuoteEx':
        return toBinary(ResponseSchema, create(ResponseSchema, {
          getQuoteExRes: create(Response_GetQuoteExResponseSchema, {
            errorCode: res.errorCode,
            ...(res.quote !== undefined && { quote: res.quotePadding ? Buffer.concat([res.quote, Buffer.alloc(res.quotePadding)]) : res.quote }),
            ...(res.qeReportInfo !== undefined && { qeReportInfo: res.qeReportInfo }),
          }),
        }));
      case 'getSupportedAttKeyIdNum':
        return toBinary(ResponseSchema, create(ResponseSchema, {
          getSupportedAttKeyIDNumRes: create(Response_GetSupportedAttKeyIDNumResponseSchema, {
            errorCode: res.errorCode,
            ...(res.attKeyIdNum !== undefined && { attKeyIdNum: res.attKeyIdNum }),
          }),
        }));
      case 'getSupportedAttKeyIds':
        return toBinary(ResponseSchema, create(ResponseSchema, {
          getSupportedAttKeyIDsRes: create(Response_GetSupportedAttKeyIDsResponseSchema, {
            errorCode: res.errorCode,
            ...(res.attKeyIds !== undefined && { attKeyIds: res.attKeyIds }),
          }),
        }));
      case 'legacy':
        return encodeLegacyResponse(res.fieldNumber, res.errorCode);
    }
  });
}

function encodeLegacyResponse(fieldNumber: number, errorCode: number): Uint8Array {
  const field = responseFieldByNumber.get(fieldNumber);
  if (!isLegacyField(fieldNumber) || !field || field.fieldKind !== 'message') {
    const why =
      fieldNumber === UNSUPPORTED_REQUEST_RESPONSE_FIELD ? ' (aesmd never sends it; it crashes Intel clients)' : '';
    throw new AesmWireError('unencodable', `response field ${fieldNumber} is not a legacy AESM response${why}`);
  }
  const sub = reflect(field.message);
  sub.set(field.message.fields.find((f) => f.number === 1)!, errorCode);
  const wrapper = reflect(ResponseSchema);
  wrapper.set(field, sub);
  return toBinary(ResponseSchema, wrapper.message as Response);
}

// ---------------------------------------------------------------------------------------------
// Response frames for the daemon's hot path

const MAX_U64 = (1n << 64n) - 1n;

// Range checks first, so out-of-range values fail as AesmWireError('unencodable') like encodeResponse.
function checkU32(v: number, name: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 0xffffffff) {
    throw new AesmWireError('unencodable', `cannot encode AESM message: ${name} ${String(v)} is not a uint32`);
  }
  return v;
}

function checkU64(v: bigint, name: string): bigint {
  if (typeof v !== 'bigint' || v < 0n || v > MAX_U64) {
    throw new AesmWireError('unencodable', `cannot encode AESM message: ${name} ${String(v)} is not a uint64`);
  }
  return v;
}

function checkBytes(v: Uint8Array, name: string): Uint8Array {
  if (!(v instanceof Uint8Array)) throw new AesmWireError('unencodable', `cannot encode AESM message: ${name} is not bytes`);
  return v;
}

/**
 * Where the response fields go: small fields into protobuf-es's BinaryWriter, `bytes` payloads (a
 * quote is ~5 KB) kept by reference and copied once, straight into the frame part that holds them,
 * `buf_size` padding (up to 64 KiB) as a count of zero bytes.
 */
class FrameParts {
  /** In order: bytes to copy, or a count of zero bytes (padding: views of the shared zero buffer). */
  readonly parts: Array<Uint8Array | number> = [];
  length = 0;
  private w = new BinaryWriter();

  u32(n: number, v: number, name: string): void {
    this.w.tag(n, WireType.Varint).uint32(checkU32(v, name));
  }

  u64(n: number, v: bigint, name: string): void {
    this.w.tag(n, WireType.Varint).uint64(checkU64(v, name));
  }

  /** A bytes field: `v` followed by `zeros` zero bytes (0 unless the field is padded). */
  bytes(n: number, v: Uint8Array, name: string, zeros = 0): void {
    this.w.tag(n, WireType.LengthDelimited).uint32(checkBytes(v, name).byteLength + checkU32(zeros, `${name} padding`));
    this.flush();
    this.push(v);
    if (zeros > 0) {
      this.parts.push(zeros);
      this.length += zeros;
    }
  }

  /** Everything written so far, as parts in order. */
  done(): Array<Uint8Array | number> {
    this.flush();
    return this.parts;
  }

  private flush(): void {
    this.push(this.w.finish());
  }

  private push(p: Uint8Array): void {
    if (p.byteLength === 0) return;
    this.parts.push(p);
    this.length += p.byteLength;
  }
}

/** The sub-message fields of a quote_ex response, in field-number order (as the schema encoder writes them). */
function writeQuoteExResponseFields(out: FrameParts, res: Exclude<AesmResponse, { kind: 'legacy' }>): void {
  out.u32(1, res.errorCode, 'errorCode');
  switch (res.kind) {
    case 'selectAttKeyId':
      if (res.selectedAttKeyId !== undefined) out.bytes(2, res.selectedAttKeyId, 'selected_att_key_id');
      break;
    case 'initQuoteEx':
      if (res.targetInfo !== undefined) out.bytes(2, res.targetInfo, 'target_info');
      if (res.pubKeyIdSize !== undefined) out.u64(3, res.pubKeyIdSize, 'pub_key_id_size');
      if (res.pubKeyId !== undefined) out.bytes(4, res.pubKeyId, 'pub_key_id');
      break;
    case 'getQuoteSizeEx':
      if (res.quoteSize !== undefined) out.u32(2, res.quoteSize, 'quote_size');
      break;
    case 'getQuoteEx':
      if (res.quote !== undefined) out.bytes(2, res.quote, 'quote', res.quotePadding ?? 0);
      if (res.qeReportInfo !== undefined) out.bytes(3, res.qeReportInfo, 'qe_report_info');
      break;
    case 'getSupportedAttKeyIdNum':
      if (res.attKeyIdNum !== undefined) out.u32(2, res.attKeyIdNum, 'att_key_id_num');
      break;
    case 'getSupportedAttKeyIds':
      if (res.attKeyIds !== undefined) out.bytes(2, res.attKeyIds, 'att_key_ids');
      break;
  }
}

/**
 * Zero bytes for `buf_size` padding: every padded reply points into this one buffer instead of
 * carrying its own zeros, so a reply waiting for a slow or non-reading client holds its ~5 KB frame,
 * not up to 64 KiB. Only ever read: views of it go to socket writes and Buffer.concat, never to code
 * that writes into a buffer.
 */
const ZERO_PADDING = Buffer.alloc(64 * 1024);

/**
 * The whole reply frame for `res` (u32 LE length prefix + body), for the daemon's hot path, as buffers
 * in order: one buffer, unless the quote is padded to `buf_size`; then the frame up to the padding,
 * read-only views of shared zero bytes (one per 64 KiB) and the rest of the frame (the daemon writes
 * the parts in one writev). Tags and varints are written with protobuf-es's BinaryWriter straight from
 * the response, without building message objects, and every payload is copied once, into its part.
 * Concatenated, the parts are byte-identical to encodeFrame(encodeResponse(res)); out-of-range values
 * throw the same AesmWireError('unencodable'); legacy answers (rare) go through encodeResponse.
 */
export function encodeResponseFrameParts(res: AesmResponse): Buffer[] {
  if (res.kind === 'legacy') return [encodeFrame(encodeResponse(res))];
  const fields = new FrameParts();
  writeQuoteExResponseFields(fields, res);
  const parts = fields.done();
  const head = new BinaryWriter().tag(QUOTE_EX_FIELD[res.kind], WireType.LengthDelimited).uint32(fields.length).finish();
  const bodyLength = head.byteLength + fields.length;
  const out: Buffer[] = [];
  let i = 0;
  do {
    // One copied part: everything up to the next padding run (the first part starts with the prefix and head).
    const first = out.length === 0;
    let length = first ? FRAME_HEADER_SIZE + head.byteLength : 0;
    let j = i;
    for (; j < parts.length && typeof parts[j] !== 'number'; j++) length += (parts[j] as Uint8Array).byteLength;
    // Never empty: the first part has the prefix, and after the (one) padding run comes a field.
    const part = Buffer.allocUnsafe(length);
    let offset = 0;
    if (first) {
      part.writeUInt32LE(bodyLength, 0);
      part.set(head, FRAME_HEADER_SIZE);
      offset = FRAME_HEADER_SIZE + head.byteLength;
    }
    for (let k = i; k < j; k++) {
      const p = parts[k] as Uint8Array;
      part.set(p, offset);
      offset += p.byteLength;
    }
    out.push(part);
    if (j < parts.length) {
      for (let zeros = parts[j] as number; zeros > 0; zeros -= ZERO_PADDING.length) {
        out.push(ZERO_PADDING.subarray(0, Math.min(zeros, ZERO_PADDING.length)));
      }
      j++;
    }
    i = j;
  } while (i < parts.length);
  return out;
}

/** The same frame as one buffer (what encodeFrame(encodeResponse(res)) gives, without its intermediate copies). */
export function encodeResponseFrame(res: AesmResponse): Buffer {
  const parts = encodeResponseFrameParts(res);
  return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
}

function guardEncode(encode: () => Uint8Array): Buffer {
  let bytes: Uint8Array;
  try {
    bytes = encode();
  } catch (err) {
    if (err instanceof AesmWireError) throw err;
    throw new AesmWireError('unencodable', `cannot encode AESM message: ${(err as Error).message}`, { cause: err });
  }
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/**
 * Decodes a response body, expecting the sub-message of `expect` (a kind, or for legacy answers the
 * wrapper field number). A missing errorCode reads as 1, as in Intel's client ([default = 1]).
 * Throws AesmWireError when the body does not parse or does not answer the expected operation.
 */
export function decodeResponse(body: Uint8Array, expect: AesmOperation | number): AesmResponse {
  const fieldNumber = typeof expect === 'number' ? expect : QUOTE_EX_FIELD[expect];
  const field = responseFieldByNumber.get(fieldNumber);
  if (!field || field.fieldKind !== 'message' || fieldNumber === UNSUPPORTED_REQUEST_RESPONSE_FIELD) {
    throw new AesmWireError('unencodable', `no AESM response operation has field number ${fieldNumber}`);
  }
  let msg: Response;
  try {
    msg = fromBinary(ResponseSchema, body);
  } catch (err) {
    throw new AesmWireError('invalid-protobuf', `AESM response is not valid protobuf: ${(err as Error).message}`, {
      cause: err,
    });
  }
  const wrapper = reflect(ResponseSchema, msg);
  if (!wrapper.isSet(field)) {
    const present = ResponseSchema.fields.filter((f) => wrapper.isSet(f)).map((f) => f.number);
    if (present.length === 0) throw new AesmWireError('missing-submessage', `AESM response carries no sub-message`);
    throw new AesmWireError(
      'wrong-submessage',
      `AESM response answers field ${present.join(',')}, expected field ${fieldNumber} (${field.name})`,
    );
  }
  return typedResponse(msg, fieldNumber);
}

function typedResponse(msg: Response, fieldNumber: number): AesmResponse {
  const op = operationForField(fieldNumber);
  switch (op) {
    case 'selectAttKeyId': {
      const m = msg.selectAttKeyIDRes!;
      const res: AesmResponse = { kind: op, errorCode: m.errorCode };
      const s = Response_SelectAttKeyIDResponseSchema.field;
      if (isFieldSet(m, s.selectedAttKeyId)) res.selectedAttKeyId = copy(m.selectedAttKeyId);
      return res;
    }
    case 'initQuoteEx': {
      const m = msg.initQuoteExRes!;
      const s = Response_InitQuoteExResponseSchema.field;
      const res: AesmResponse = { kind: op, errorCode: m.errorCode };
      if (isFieldSet(m, s.targetInfo)) res.targetInfo = copy(m.targetInfo);
      if (isFieldSet(m, s.pubKeyIdSize)) res.pubKeyIdSize = m.pubKeyIdSize;
      if (isFieldSet(m, s.pubKeyId)) res.pubKeyId = copy(m.pubKeyId);
      return res;
    }
    case 'getQuoteSizeEx': {
      const m = msg.getQuoteSizeExRes!;
      const res: AesmResponse = { kind: op, errorCode: m.errorCode };
      if (isFieldSet(m, Response_GetQuoteSizeExResponseSchema.field.quoteSize)) res.quoteSize = m.quoteSize;
      return res;
    }
    case 'getQuoteEx': {
      const m = msg.getQuoteExRes!;
      const s = Response_GetQuoteExResponseSchema.field;
      const res: AesmResponse = { kind: op, errorCode: m.errorCode };
      if (isFieldSet(m, s.quote)) res.quote = copy(m.quote);
      if (isFieldSet(m, s.qeReportInfo)) res.qeReportInfo = copy(m.qeReportInfo);
      return res;
    }
    case 'getSupportedAttKeyIdNum': {
      const m = msg.getSupportedAttKeyIDNumRes!;
      const res: AesmResponse = { kind: op, errorCode: m.errorCode };
      if (isFieldSet(m, Response_GetSupportedAttKeyIDNumResponseSchema.field.attKeyIdNum)) res.attKeyIdNum = m.attKeyIdNum;
      return res;
    }
    case 'getSupportedAttKeyIds': {
      const m = msg.getSupportedAttKeyIDsRes!;
      const res: AesmResponse = { kind: op, errorCode: m.errorCode };
      if (isFieldSet(m, Response_GetSupportedAttKeyIDsResponseSchema.field.attKeyIds)) res.attKeyIds = copy(m.attKeyIds);
      return res;
    }
    case undefined: {
      const field = responseFieldByNumber.get(fieldNumber)!;
      const sub = reflect(ResponseSchema, msg).get(field as DescField & { fieldKind: 'message' });
      const codeField = sub.desc.fields.find((f) => f.number === 1)!;
      const errorCode = sub.isSet(codeField) ? Number(sub.get(codeField)) : AesmCode.UNEXPECTED_ERROR;
      return { kind: 'legacy', fieldNumber, errorCode };
    }
  }
}
