import { describe, expect, it } from 'vitest';
import { parseSdp } from './sdp.js';
import { resolveControl, rtspBaseUrl, rtspControlUrls } from './rtsp-control-url.js';

describe('RTSP control URLs (RFC 2326 C.1.1)', () => {
  const req = 'rtsp://10.0.0.5:554/live/main';

  it('takes the base from Content-Base, then Content-Location, then the request URL', () => {
    expect(rtspBaseUrl(req, 'rtsp://10.0.0.5:554/live/main/', 'rtsp://10.0.0.5/elsewhere/')).toBe('rtsp://10.0.0.5:554/live/main/');
    expect(rtspBaseUrl(req, undefined, 'rtsp://10.0.0.5/loc/')).toBe('rtsp://10.0.0.5/loc/');
    expect(rtspBaseUrl(req, '  ', undefined)).toBe(req);
    expect(rtspBaseUrl(req, undefined, undefined)).toBe(req);
    // A relative header is relative to the request URL; one that is no RTSP URL is passed over.
    expect(rtspBaseUrl(req, '/other/', undefined)).toBe('rtsp://10.0.0.5:554/other/');
    expect(rtspBaseUrl(req, 'http://10.0.0.5/x/', 'rtsp://10.0.0.5/loc/')).toBe('rtsp://10.0.0.5/loc/');
    // Dahua's base keeps its query and trailing slash as sent.
    const dahua = 'rtsp://10.0.0.7:554/cam/realmonitor?channel=1&subtype=0/';
    expect(rtspBaseUrl('rtsp://10.0.0.7:554/cam/realmonitor?channel=1&subtype=0', dahua, undefined)).toBe(dahua);
  });

  it.each([
    ['*', 'rtsp://h/s1/', 'rtsp://h/s1/'],
    ['', 'rtsp://h/s1/', 'rtsp://h/s1/'],
    [undefined, 'rtsp://h/s1', 'rtsp://h/s1'],
    ['trackID=1', 'rtsp://h/s1/', 'rtsp://h/s1/trackID=1'],
    ['trackID=1', 'rtsp://h/s1', 'rtsp://h/s1/trackID=1'],
    ['trackID=0', 'rtsp://h:554/cam/realmonitor?channel=1&subtype=0/', 'rtsp://h:554/cam/realmonitor?channel=1&subtype=0/trackID=0'],
    ['rtsp://other:8554/x/track1', 'rtsp://h/s1/', 'rtsp://other:8554/x/track1'],
    ['RTSPS://secure/x', 'rtsp://h/s1/', 'RTSPS://secure/x'],
    ['/abs/track2', 'rtsp://h:8554/s1/', 'rtsp://h:8554/abs/track2'],
  ])('resolves control %j against %s', (control, base, expected) => {
    expect(resolveControl(base, control)).toBe(expected);
  });

  it('PLAY goes to the aggregate URL of a session-level control, SETUP to the media URL', () => {
    // GStreamer: a=control:* at session level, a=control:stream=0 on the media, Content-Base with a slash.
    const gst = parseSdp('v=0\r\ns=x\r\na=control:*\r\nm=video 0 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\na=control:stream=0\r\n');
    expect(rtspControlUrls('rtsp://h:8554/cam/', gst.control, gst.media[0]?.control)).toEqual({
      base: 'rtsp://h:8554/cam/',
      aggregate: 'rtsp://h:8554/cam/',
      media: 'rtsp://h:8554/cam/stream=0',
      play: 'rtsp://h:8554/cam/',
    });
    // An absolute session control (Hikvision style) is the aggregate URL; a relative media control still hangs off the base.
    expect(rtspControlUrls('rtsp://h/Streaming/Channels/101/', 'rtsp://h/Streaming/Channels/101/?transportmode=unicast', 'trackID=1')).toMatchObject({
      aggregate: 'rtsp://h/Streaming/Channels/101/?transportmode=unicast',
      media: 'rtsp://h/Streaming/Channels/101/trackID=1',
      play: 'rtsp://h/Streaming/Channels/101/?transportmode=unicast',
    });
    // No session-level control: a single stream is controlled with its own URL.
    expect(rtspControlUrls('rtsp://h/s1', undefined, 'track1')).toEqual({ base: 'rtsp://h/s1', aggregate: undefined, media: 'rtsp://h/s1/track1', play: 'rtsp://h/s1/track1' });
    // No control at all: everything goes to the base.
    expect(rtspControlUrls('rtsp://h/s1', undefined, undefined)).toMatchObject({ media: 'rtsp://h/s1', play: 'rtsp://h/s1' });
  });
});
