import { describe, expect, it } from 'vitest';
import { DigestSession, parseChallenges } from './digest-auth.js';
import { h264Resolution, parseSpsResolution } from './h264-sps.js';
import { parseJpegRtpHeader, parseRtp } from './rtp.js';
import { parseSdp, videoOf } from './sdp.js';
import { stripUriSecrets, withHost } from './uri-secrets.js';

describe('SDP', () => {
  const mjpeg = [
    'v=0',
    'o=- 1 1 IN IP4 127.0.0.1',
    's=Camera 1',
    't=0 0',
    'a=control:*',
    'm=audio 0 RTP/AVP 0',
    'a=control:trackID=0',
    'm=video 0 RTP/AVP 26',
    'a=framesize:26 640-360',
    'a=control:trackID=1',
  ].join('\r\n');

  it('finds the video media, its static payload type and a=framesize', () => {
    const sdp = parseSdp(mjpeg);
    expect(sdp.sessionName).toBe('Camera 1');
    expect(videoOf(sdp)).toMatchObject({ payloadType: 26, codec: 'JPEG', clockRate: 90000, width: 640, height: 360, control: 'trackID=1' });
  });

  it('reads a=rtpmap and a=x-dimensions, and H.264 size from sprop-parameter-sets', () => {
    const h264 = 'v=0\ns=x\nm=video 0 RTP/AVP 96\na=rtpmap:96 H264/90000\na=fmtp:96 packetization-mode=1;profile-level-id=640028;sprop-parameter-sets=Z2QAKKzZQHgCJ+XARAAAAwAEAAADAAg8YMZY,aOvjyyLA\n';
    const v = videoOf(parseSdp(h264));
    expect(v).toMatchObject({ codec: 'H264', payloadType: 96, width: undefined });
    expect(h264Resolution(v?.fmtp)).toEqual({ width: 1920, height: 1080 });
    expect(videoOf(parseSdp('m=video 0 RTP/AVP 97\na=rtpmap:97 H265/90000\na=x-dimensions:2560,1440\n'))).toMatchObject({ codec: 'H265', width: 2560, height: 1440 });
  });

  it('has no video for an audio-only or garbage SDP', () => {
    expect(videoOf(parseSdp('v=0\nm=audio 0 RTP/AVP 0\n'))).toBeUndefined();
    expect(videoOf(parseSdp('\u0000\u0001garbage\n=\nm=video x y\n'))).toBeUndefined();
  });
});

describe('H.264 SPS', () => {
  it.each([
    ['Z2QAKKzZQHgCJ+XARAAAAwAEAAADAAg8YMZY', 1920, 1080],
    ['Z2QAFqzZQKAv+XARAAADAAEAAAMAAg8WLZY=', 640, 360],
    ['Z01ADOygsEtgIgAAAwACAAADAAQeKFMs', 352, 288],
    ['Z0LAH9kAUAW7ARAAAAMAEAAAAwAg8YMkgA==', 1280, 720],
  ])('%s is %ix%i (x264 output, high/main/baseline, with cropping)', (b64, width, height) => {
    expect(parseSpsResolution(Buffer.from(b64, 'base64'))).toEqual({ width, height });
  });

  it('gives up on a truncated or non-SPS unit', () => {
    expect(parseSpsResolution(Buffer.from('Z2QAKKzZ', 'base64'))).toBeUndefined();
    expect(parseSpsResolution(Buffer.from('aOvjyyLA', 'base64'))).toBeUndefined();
  });
});

describe('RTP', () => {
  it('parses the fixed header, CSRCs, extension and padding, and the RFC 2435 header', () => {
    const payload = Buffer.from([0, 0, 0, 0, 1, 255, 80, 45, 0xaa, 0xbb]);
    const pkt = Buffer.concat([
      Buffer.from([0xb1, 0x80 | 26, 0x12, 0x34, 0, 0, 0, 9, 0xde, 0xad, 0xbe, 0xef]), // V=2 P=1 X=1 CC=1, M=1 PT=26
      Buffer.from([0, 0, 0, 1]), // CSRC
      Buffer.from([0xbe, 0xde, 0, 1, 1, 2, 3, 4]), // extension, 1 word
      payload,
      Buffer.from([0, 0, 3]), // padding of 3
    ]);
    const rtp = parseRtp(pkt);
    expect(rtp).toMatchObject({ payloadType: 26, marker: true, sequence: 0x1234, timestamp: 9, ssrc: 0xdeadbeef });
    expect(rtp!.payload).toEqual(payload);
    expect(parseJpegRtpHeader(rtp!.payload)).toEqual({ typeSpecific: 0, fragmentOffset: 0, type: 1, q: 255, width: 640, height: 360 });
    expect(parseRtp(Buffer.from([0x40, 0, 0]))).toBeUndefined();
  });
});

describe('Digest client', () => {
  it('answers RFC 7616 section 3.9.1 (MD5, qop=auth) exactly', () => {
    const session = new DigestSession('Mufasa', 'Circle of Life', () => 'f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ');
    const challenges = parseChallenges([
      'Digest realm="http-auth@example.org", qop="auth, auth-int", algorithm=SHA-256, nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"',
      'Digest realm="http-auth@example.org", qop="auth, auth-int", algorithm=MD5, nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"',
    ]);
    const sha = session.authorize(challenges, 'GET', '/dir/index.html');
    expect(sha).toContain('response="753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"');
    const md5 = new DigestSession('Mufasa', 'Circle of Life', () => 'f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ').authorize(challenges.slice(1), 'GET', '/dir/index.html');
    expect(md5).toContain('response="8ca523f5e9506fed4657c9700eebdbec"');
    expect(md5).toContain('nc=00000001');
  });

  it('answers an RFC 2069 challenge (no qop, as RTSP cameras send) and falls back to Basic only when offered alone', () => {
    const s = new DigestSession('admin', 'pw');
    const rfc2069 = s.authorize(parseChallenges(['Digest realm="cam", nonce="n1"']), 'DESCRIBE', 'rtsp://h/s');
    expect(rfc2069).toMatch(/^Digest username="admin", realm="cam", nonce="n1", uri="rtsp:\/\/h\/s", response="[0-9a-f]{32}"$/);
    expect(s.authorize(parseChallenges(['Basic realm="cam"']), 'GET', '/')).toBe(`Basic ${Buffer.from('admin:pw').toString('base64')}`);
    expect(s.authorize(parseChallenges(['Basic realm="x"', 'Digest realm="cam", nonce="n"']), 'GET', '/')).toMatch(/^Digest /);
    expect(s.authorize(parseChallenges(['Negotiate abc']), 'GET', '/')).toBeUndefined();
  });
});

describe('URIs without secrets', () => {
  it('drops user info and masks secret query parameters and the password itself', () => {
    expect(stripUriSecrets('rtsp://admin:hunter22@10.0.0.5:554/Streaming/101?user=admin&password=hunter22&channel=1')).toBe(
      'rtsp://10.0.0.5:554/Streaming/101?user=***&password=***&channel=1',
    );
    expect(stripUriSecrets('http://10.0.0.5/snap/hunter22/x.jpg', ['hunter22'])).toBe('http://10.0.0.5/snap/***/x.jpg');
    expect(stripUriSecrets('not a uri')).toBe('(invalid uri)');
    expect(withHost('rtsp://192.168.1.10:554/s1', '10.20.0.7')).toBe('rtsp://10.20.0.7:554/s1');
  });
});
