/**
 * A self-signed X.509 v3 certificate for first start, written with our own
 * DER encoder (./der.ts) and Node's crypto for the key pair and the signature.
 * No openssl binary is needed.
 *
 * Follows RFC 5280 §4.1 (the certificate and TBSCertificate fields) and §4.2.1
 * (the extensions), RFC 5480 §2 (EC public keys, which Node exports for us as a
 * ready SubjectPublicKeyInfo), RFC 5758 §3.2 (ecdsa-with-SHA256) and RFC 7468
 * §2 (PEM). The certificate is a leaf for TLS servers: P-256 key, CA:false,
 * keyUsage digitalSignature, extKeyUsage serverAuth, and a subjectAltName with
 * the DNS names and IP addresses clients will connect to — RFC 6125 §6.4.4:
 * clients check the SAN, not the CN, so the SAN is what matters.
 *
 * Pure apart from the randomness of the key and serial; `now` is passed in.
 */
import { createHash, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';
import { isIP } from 'node:net';
import {
  derBitString,
  derBoolean,
  derContextExplicit,
  derContextImplicitPrimitive,
  derInteger,
  derOctetString,
  derOid,
  derSequence,
  derSet,
  derTime,
  derUtf8String,
} from './der.js';

export interface SelfSignedCertificateOptions {
  /** The subject and issuer common name, e.g. 'localhost'. */
  readonly commonName: string;
  /** subjectAltName dNSName entries (RFC 5280 §4.2.1.6), e.g. ['localhost']. */
  readonly dnsNames: readonly string[];
  /** subjectAltName iPAddress entries, IPv4 or IPv6 text, e.g. ['127.0.0.1', '::1']. */
  readonly ipAddresses: readonly string[];
  /** Validity in days from `now`. */
  readonly days: number;
  /** The clock, for tests; defaults to the current time. */
  readonly now?: Date;
}

export interface SelfSignedCertificate {
  /** The certificate, PEM `CERTIFICATE` (RFC 7468 §5). */
  readonly certPem: string;
  /** The private key, PEM `PRIVATE KEY` (PKCS #8, RFC 7468 §10). Never log it. */
  readonly keyPem: string;
}

/** Dotted OIDs of everything the certificate names. */
export const OID = {
  /** RFC 5758 §3.2 */
  ECDSA_WITH_SHA256: '1.2.840.10045.4.3.2',
  /** X.520 id-at-commonName, RFC 5280 §4.1.2.4 */
  COMMON_NAME: '2.5.4.3',
  /** RFC 5280 §4.2.1.2 */
  SUBJECT_KEY_IDENTIFIER: '2.5.29.14',
  /** RFC 5280 §4.2.1.3 */
  KEY_USAGE: '2.5.29.15',
  /** RFC 5280 §4.2.1.6 */
  SUBJECT_ALT_NAME: '2.5.29.17',
  /** RFC 5280 §4.2.1.9 */
  BASIC_CONSTRAINTS: '2.5.29.19',
  /** RFC 5280 §4.2.1.12 */
  EXT_KEY_USAGE: '2.5.29.37',
  /** RFC 5280 §4.2.1.12 id-kp-serverAuth */
  SERVER_AUTH: '1.3.6.1.5.5.7.3.1',
} as const;

/** RFC 5280 §4.1.2.1: "When extensions are used, as expected in this profile, version MUST be 3 (value is 2)." */
const VERSION_V3 = 2n;
/** Serial size: RFC 5280 §4.1.2.2 allows up to 20 octets; CA/Browser Forum asks for ≥ 64 random bits. */
const SERIAL_BYTES = 16;
/** Back-date notBefore an hour so a client whose clock runs a little slow still accepts it. */
const CLOCK_SKEW_MS = 60 * 60 * 1000;
const MS_PER_DAY = 24 * 60 * 60 * 1000;
/** GeneralName tags (RFC 5280 §4.2.1.6): dNSName [2] IA5String, iPAddress [7] OCTET STRING. */
const GENERAL_NAME_TAG = { DNS_NAME: 2, IP_ADDRESS: 7 } as const;
/** Context tags inside TBSCertificate (RFC 5280 §4.1). */
const TBS_TAG = { VERSION: 0, EXTENSIONS: 3 } as const;
/** KeyUsage bit numbers (RFC 5280 §4.2.1.3); we set digitalSignature only, which is all ECDHE-ECDSA needs. */
const KEY_USAGE_BIT = { DIGITAL_SIGNATURE: 0 } as const;
/** PEM base64 lines are 64 characters (RFC 7468 §2). */
const PEM_LINE_LENGTH = 64;
/** RFC 4291 §2.2: an IPv6 address is eight 16-bit pieces. */
const IPV6_GROUPS = 8;
/** A DNS label (RFC 1035 §2.3.1, RFC 1123 §2.1): letters, digits, hyphens, not at the ends, ≤ 63. */
const DNS_LABEL = /^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$/;
const MAX_DNS_NAME_LENGTH = 253;

/** Make a fresh P-256 key pair and a certificate for it, signed by itself. */
export function createSelfSignedCertificate(options: SelfSignedCertificateOptions): SelfSignedCertificate {
  const now = options.now ?? new Date();
  checkOptions(options, now);

  // 1. The key pair. Node writes the SubjectPublicKeyInfo (RFC 5480 §2) for us; we embed it as is.
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const spki = publicKey.export({ type: 'spki', format: 'der' });

  // 2. The TBSCertificate (RFC 5280 §4.1), field by field.
  const algorithm = derSequence(derOid(OID.ECDSA_WITH_SHA256)); // RFC 5758 §3.2: parameters MUST be absent
  const name = distinguishedName(options.commonName);
  const notBefore = new Date(now.getTime() - CLOCK_SKEW_MS);
  const notAfter = new Date(now.getTime() + options.days * MS_PER_DAY);
  const tbs = derSequence(
    derContextExplicit(TBS_TAG.VERSION, derInteger(VERSION_V3)), // §4.1.2.1
    derInteger(randomSerial()), // §4.1.2.2
    algorithm, // §4.1.2.3: MUST equal signatureAlgorithm below
    name, // §4.1.2.4 issuer: self-signed, so the subject
    derSequence(derTime(notBefore), derTime(notAfter)), // §4.1.2.5
    name, // §4.1.2.6 subject
    spki, // §4.1.2.7
    derContextExplicit(TBS_TAG.EXTENSIONS, derSequence(...extensions(options, publicKeyBits(publicKey)))), // §4.1.2.9
  );

  // 3. Sign it (RFC 5280 §4.1.1.3) and wrap: Certificate ::= SEQUENCE { tbs, algorithm, BIT STRING signature }.
  //    RFC 5758 §3.2: the ECDSA signature value is the DER of SEQUENCE { r INTEGER, s INTEGER }.
  const signature = sign('sha256', tbs, { key: privateKey, dsaEncoding: 'der' });
  const certificate = derSequence(tbs, algorithm, derBitString(signature));

  return {
    certPem: pem('CERTIFICATE', certificate),
    keyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
  };
}

function checkOptions(options: SelfSignedCertificateOptions, now: Date): void {
  if (Number.isNaN(now.getTime())) throw new RangeError('now is not a valid Date');
  if (!(Number.isFinite(options.days) && options.days > 0)) {
    throw new RangeError(`days must be a positive number, got ${options.days}`);
  }
  if (options.commonName.length === 0) throw new RangeError('commonName must not be empty');
  // RFC 5280 §4.2.1.6: a SAN with no names is not allowed; a client checks nothing else.
  if (options.dnsNames.length + options.ipAddresses.length === 0) {
    throw new RangeError('give at least one DNS name or IP address for the subjectAltName');
  }
  for (const dnsName of options.dnsNames) checkDnsName(dnsName);
}

/** RFC 5280 §4.2.1.6: dNSName is an IA5String in the preferred name syntax; a leading `*.` wildcard is allowed (RFC 6125 §6.4.3). */
function checkDnsName(dnsName: string): void {
  const labels = dnsName.startsWith('*.') ? dnsName.slice(2).split('.') : dnsName.split('.');
  if (dnsName.length > MAX_DNS_NAME_LENGTH || !labels.every((label) => DNS_LABEL.test(label))) {
    throw new RangeError(`'${dnsName}' is not a DNS name (letters, digits and hyphens in dot-separated labels)`);
  }
}

/**
 * Name ::= SEQUENCE OF RelativeDistinguishedName, RDN ::= SET OF
 * AttributeTypeAndValue (RFC 5280 §4.1.2.4). One RDN: CN=<commonName>,
 * as UTF8String ("CAs … MUST use … UTF8String" for new names).
 */
function distinguishedName(commonName: string): Buffer {
  return derSequence(derSet(derSequence(derOid(OID.COMMON_NAME), derUtf8String(commonName))));
}

/** A positive, non-zero serial of exactly SERIAL_BYTES octets (RFC 5280 §4.1.2.2: "MUST be a positive integer"). */
function randomSerial(): Buffer {
  const serial = randomBytes(SERIAL_BYTES);
  // Clear the sign bit and set the next one: positive, and no leading zero octet to trim.
  serial[0] = (serial[0]! & 0x7f) | 0x40;
  return serial;
}

/** The subjectPublicKey bits: for EC, the uncompressed point 0x04 ‖ x ‖ y (RFC 5480 §2.2). */
function publicKeyBits(publicKey: KeyObject): Buffer {
  const jwk = publicKey.export({ format: 'jwk' });
  if (jwk.x === undefined || jwk.y === undefined) throw new Error('EC public key without coordinates');
  return Buffer.concat([Buffer.from([0x04]), Buffer.from(jwk.x, 'base64url'), Buffer.from(jwk.y, 'base64url')]);
}

/** Extension ::= SEQUENCE { extnID, critical BOOLEAN DEFAULT FALSE, extnValue OCTET STRING } (RFC 5280 §4.1). */
function extension(oid: string, critical: boolean, value: Buffer): Buffer {
  // X.690 §11.5: a value equal to its DEFAULT is omitted, so `critical` appears only when true.
  return critical
    ? derSequence(derOid(oid), derBoolean(true), derOctetString(value))
    : derSequence(derOid(oid), derOctetString(value));
}

function extensions(options: SelfSignedCertificateOptions, subjectPublicKey: Buffer): Buffer[] {
  const generalNames = [
    ...options.dnsNames.map((dnsName) => derContextImplicitPrimitive(GENERAL_NAME_TAG.DNS_NAME, Buffer.from(dnsName, 'ascii'))),
    ...options.ipAddresses.map((ip) => derContextImplicitPrimitive(GENERAL_NAME_TAG.IP_ADDRESS, ipAddressBytes(ip))),
  ];
  return [
    // §4.2.1.9: basicConstraints { cA FALSE } — cA is DEFAULT FALSE, so an empty SEQUENCE. Critical, as for CAs.
    extension(OID.BASIC_CONSTRAINTS, true, derSequence()),
    // §4.2.1.3: "conforming CAs SHOULD mark this extension as critical."
    extension(OID.KEY_USAGE, true, namedBitString([KEY_USAGE_BIT.DIGITAL_SIGNATURE])),
    // §4.2.1.12: a TLS server certificate.
    extension(OID.EXT_KEY_USAGE, false, derSequence(derOid(OID.SERVER_AUTH))),
    // §4.2.1.6: non-critical because the subject is not empty.
    extension(OID.SUBJECT_ALT_NAME, false, derSequence(...generalNames)),
    // §4.2.1.2 method (1): the SHA-1 of the subjectPublicKey BIT STRING value.
    extension(OID.SUBJECT_KEY_IDENTIFIER, false, derOctetString(createHash('sha1').update(subjectPublicKey).digest())),
  ];
}

/**
 * A BIT STRING of named bits, bit 0 first (the most significant bit of the
 * first octet). DER §11.2.2: trailing zero bits are removed, so the unused-bit
 * count reflects the highest bit set.
 */
function namedBitString(bits: readonly number[]): Buffer {
  const highest = Math.max(...bits);
  const bytes = Buffer.alloc(Math.floor(highest / 8) + 1);
  for (const bit of bits) bytes[Math.floor(bit / 8)]! |= 0x80 >> bit % 8;
  return derBitString(bytes, 7 - (highest % 8));
}

/**
 * The octets of an IP address for iPAddress (RFC 5280 §4.2.1.6: "four octets
 * … for IP version 4 … sixteen octets for IP version 6"), in network order.
 * Accepts RFC 4291 §2.2 text: `::` for a run of zero groups and a dotted IPv4
 * tail (`::ffff:192.0.2.1`).
 */
export function ipAddressBytes(text: string): Buffer {
  const family = isIP(text);
  if (family === 4) return Buffer.from(text.split('.').map(Number));
  if (family !== 6 || text.includes('%')) throw new RangeError(`'${text}' is not an IPv4 or IPv6 address`);

  // Turn a dotted IPv4 tail into two hex groups, so everything left is hex groups.
  let hex = text;
  const tail = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (tail) {
    const v4 = ipAddressBytes(tail[1]!);
    hex = text.slice(0, tail.index) + v4.readUInt16BE(0).toString(16) + ':' + v4.readUInt16BE(2).toString(16);
  }
  const [head, rest] = hex.split('::') as [string, string | undefined];
  const groups = (part: string): string[] => (part === '' ? [] : part.split(':'));
  const before = groups(head);
  const after = rest === undefined ? [] : groups(rest);
  const zeros = rest === undefined ? 0 : IPV6_GROUPS - before.length - after.length;
  const all = [...before, ...Array<string>(zeros).fill('0'), ...after];
  const out = Buffer.alloc(2 * IPV6_GROUPS);
  all.forEach((group, i) => out.writeUInt16BE(parseInt(group, 16), 2 * i));
  return out;
}

/** RFC 7468 §2: BEGIN line, base64 in lines of 64 characters, END line. */
function pem(label: string, der: Buffer): string {
  const base64 = der.toString('base64');
  const lines: string[] = [];
  for (let i = 0; i < base64.length; i += PEM_LINE_LENGTH) lines.push(base64.slice(i, i + PEM_LINE_LENGTH));
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}
