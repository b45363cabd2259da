// RSA blind signatures, RFC 9474 (RSABSSA), the client's side: Prepare, Blind, Finalize.
//
// The member's browser blinds its token message, sends only the blinded message to the issuer,
// and unblinds the answer; the issuer never sees the token. BigInt arithmetic; SHA-384 and the
// final RSASSA-PSS verification by WebCrypto (an independent implementation, as in the Python
// code, services/voting/domain/blind_rsa.py). Checked against the RFC 9474 Appendix A vectors
// in headless Chromium (tests/integration/test_voting_page.py). No dependencies.
//
// Python's pow and this BigInt code are not constant time; the client's secrets (r, inv) are
// used once per token, on the member's own device.
"use strict";

const BlindRSA = (() => {
  const PREFIX_LEN = 32;
  const VARIANTS = {
    "RSABSSA-SHA384-PSS-Randomized": { saltLen: 48, randomized: true },
    "RSABSSA-SHA384-PSSZERO-Randomized": { saltLen: 0, randomized: true },
    "RSABSSA-SHA384-PSS-Deterministic": { saltLen: 48, randomized: false },
    "RSABSSA-SHA384-PSSZERO-Deterministic": { saltLen: 0, randomized: false },
  };
  const DEFAULT = "RSABSSA-SHA384-PSS-Randomized";
  const H_LEN = 48;

  function hexToBytes(hex) {
    if (hex.length % 2) throw new Error("odd hex length");
    const out = new Uint8Array(hex.length / 2);
    for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.substr(2 * i, 2), 16);
    return out;
  }
  function bytesToHex(b) {
    return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
  }
  function os2ip(b) {
    return b.length ? BigInt("0x" + bytesToHex(b)) : 0n;
  }
  function i2osp(x, len) {
    let hex = x.toString(16);
    if (hex.length > 2 * len) throw new Error("integer too large");
    return hexToBytes(hex.padStart(2 * len, "0"));
  }
  function concat(...parts) {
    const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let o = 0;
    for (const p of parts) { out.set(p, o); o += p.length; }
    return out;
  }
  function randomBytes(n) {
    const out = new Uint8Array(n);
    if (n) crypto.getRandomValues(out);
    return out;
  }
  function modPow(b, e, n) {
    let r = 1n;
    b %= n;
    while (e > 0n) {
      if (e & 1n) r = (r * b) % n;
      e >>= 1n;
      b = (b * b) % n;
    }
    return r;
  }
  function gcd(a, b) {
    while (b) [a, b] = [b, a % b];
    return a;
  }
  function modInv(a, n) {
    let [t, newT, r, newR] = [0n, 1n, n, ((a % n) + n) % n];
    while (newR) {
      const q = r / newR;
      [t, newT] = [newT, t - q * newT];
      [r, newR] = [newR, r - q * newR];
    }
    if (r !== 1n) throw new Error("invalid input: not invertible modulo n");
    return t < 0n ? t + n : t;
  }
  function bitLen(n) {
    return n.toString(2).length;
  }
  async function sha384(data) {
    return new Uint8Array(await crypto.subtle.digest("SHA-384", data));
  }

  // MGF1 (RFC 8017 B.2.1) with SHA-384.
  async function mgf1(seed, maskLen) {
    const parts = [];
    for (let c = 0; parts.length * H_LEN < maskLen; c++) {
      parts.push(await sha384(concat(seed, i2osp(BigInt(c), 4))));
    }
    return concat(...parts).slice(0, maskLen);
  }

  // EMSA-PSS-ENCODE (RFC 8017 9.1.1) with an explicit salt.
  async function emsaPssEncode(msg, emBits, salt) {
    const emLen = Math.ceil(emBits / 8);
    const mHash = await sha384(msg);
    if (emLen < H_LEN + salt.length + 2) throw new Error("encoding error");
    const h = await sha384(concat(new Uint8Array(8), mHash, salt));
    const ps = new Uint8Array(emLen - salt.length - H_LEN - 2);
    const db = concat(ps, Uint8Array.of(1), salt);
    const mask = await mgf1(h, emLen - H_LEN - 1);
    const masked = db.map((x, i) => x ^ mask[i]);
    masked[0] &= 0xff >> (8 * emLen - emBits);
    return concat(masked, h, Uint8Array.of(0xbc));
  }

  // Prepare (RFC 9474 4.1).
  function prepare(msg, variant = DEFAULT, prefix = null) {
    return VARIANTS[variant].randomized ? concat(prefix || randomBytes(PREFIX_LEN), msg) : msg;
  }

  // Blind (4.2). `salt` and `r` only to reproduce the RFC vectors.
  async function blind(key, inputMsg, variant = DEFAULT, { salt = null, r = null } = {}) {
    const v = VARIANTS[variant];
    const n = key.n, e = key.e, modBits = bitLen(n), k = Math.ceil(modBits / 8);
    salt = salt || randomBytes(v.saltLen);
    const encoded = await emsaPssEncode(inputMsg, modBits - 1, salt);
    const m = os2ip(encoded);
    if (gcd(m, n) !== 1n) throw new Error("invalid input");
    if (r === null) {
      do { r = os2ip(randomBytes(k + 16)) % n; } while (r === 0n || gcd(r, n) !== 1n);
    }
    const inv = modInv(r, n);
    const z = (m * modPow(r, e, n)) % n;
    return { blindedMsg: i2osp(z, k), inv: i2osp(inv, k) };
  }

  function pemToDer(pem) {
    const b64 = pem.replace(/-----[^-]+-----/g, "").replace(/\s+/g, "");
    return Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  }

  // RSASSA-PSS-VERIFY by WebCrypto.
  async function verify(key, inputMsg, sig, variant = DEFAULT) {
    const pub = await crypto.subtle.importKey("spki", pemToDer(key.pem), { name: "RSA-PSS", hash: "SHA-384" },
                                              false, ["verify"]);
    return crypto.subtle.verify({ name: "RSA-PSS", saltLength: VARIANTS[variant].saltLen }, pub, sig, inputMsg);
  }

  // Finalize (4.4): unblind, then verify.
  async function finalize(key, inputMsg, blindSig, inv, variant = DEFAULT) {
    const n = key.n, k = Math.ceil(bitLen(n) / 8);
    if (blindSig.length !== k || inv.length !== k) throw new Error("unexpected input size");
    const s = (os2ip(blindSig) * os2ip(inv)) % n;
    const sig = i2osp(s, k);
    if (!(await verify(key, inputMsg, sig, variant))) throw new Error("invalid signature");
    return sig;
  }

  // Borgerting's vote tokens (services/voting/domain/tokens.py):
  // message = prefix(32) || "borgerting/vote-token/v1" 0x00 ballot_id 0x00 nonce(32)
  const TOKEN_DOMAIN = new TextEncoder().encode("borgerting/vote-token/v1\u0000");

  function keyFrom(tokenKey) {
    return { n: BigInt("0x" + tokenKey.n), e: BigInt("0x" + tokenKey.e), pem: tokenKey.pem };
  }

  async function requestToken(tokenKey, ballotId) {
    const key = keyFrom(tokenKey);
    const body = concat(TOKEN_DOMAIN, new TextEncoder().encode(ballotId), Uint8Array.of(0), randomBytes(32));
    const prepared = prepare(body);
    const { blindedMsg, inv } = await blind(key, prepared);
    return { ballotId, prepared: bytesToHex(prepared), blinded: bytesToHex(blindedMsg), inv: bytesToHex(inv) };
  }

  async function finishToken(tokenKey, req, blindSigHex) {
    const key = keyFrom(tokenKey);
    const sig = await finalize(key, hexToBytes(req.prepared), hexToBytes(blindSigHex), hexToBytes(req.inv));
    return { message: req.prepared, signature: bytesToHex(sig) };
  }

  async function tokenHash(token) {
    return bytesToHex(new Uint8Array(await crypto.subtle.digest("SHA-256", hexToBytes(token.message))));
  }

  return { hexToBytes, bytesToHex, os2ip, i2osp, modInv, prepare, blind, finalize, verify, requestToken,
           finishToken, tokenHash, VARIANTS };
})();

if (typeof module !== "undefined") module.exports = BlindRSA;
