/**
 * Which URL each RTSP request of a stream check goes to (RFC 2326 C.1.1 and 10.x):
 * - the base URL is the DESCRIBE reply's Content-Base, else its Content-Location, else the
 *   URL the DESCRIBE went to (a relative header value is taken relative to that URL);
 * - a session-level `a=control` names the aggregate control URL: PLAY, PAUSE and TEARDOWN of
 *   the presentation go there, and a server that has one may refuse them on a media URL
 *   (GStreamer answers 460 "Only aggregate operation allowed");
 * - a media-level `a=control` names the URL that media's SETUP goes to;
 * - `*` (or no attribute) stands for the base URL itself; an absolute URL is used as it is.
 *
 * A relative control is appended to the base with one "/" between them, as the clients cameras
 * are written for (live555, FFmpeg) do, rather than by RFC 3986 reference resolution: that
 * would replace the base's last path segment and drop its query, and a Dahua base such as
 * `rtsp://cam/cam/realmonitor?channel=1&subtype=0/` expects `.../subtype=0/trackID=0`. A
 * control starting with "/" is an absolute path on the base's host.
 */

export interface RtspControlUrls {
  /** Base of relative controls. */
  base: string;
  /** The aggregate control URL, when the SDP has a session-level a=control. */
  aggregate: string | undefined;
  /** Where SETUP of the checked media goes. */
  media: string;
  /** Where PLAY and TEARDOWN go: the aggregate URL when there is one, else the media URL. */
  play: string;
}

/** The base URL of a DESCRIBE reply: Content-Base, Content-Location, then the request URL. */
export function rtspBaseUrl(requestUrl: string, contentBase: string | undefined, contentLocation: string | undefined): string {
  for (const candidate of [contentBase, contentLocation]) {
    const value = candidate?.trim();
    if (!value) continue;
    try {
      const url = new URL(value, requestUrl);
      if (url.protocol === 'rtsp:' || url.protocol === 'rtsps:') return isAbsolute(value) ? value : url.toString();
    } catch {
      // An unparsable header: the next source of the base applies.
    }
  }
  return requestUrl;
}

/** A control attribute resolved against the base (see the module comment). */
export function resolveControl(base: string, control: string | undefined): string {
  const c = control?.trim();
  if (c === undefined || c === '' || c === '*') return base;
  if (isAbsolute(c)) return c;
  if (c.startsWith('/')) {
    try {
      const b = new URL(base);
      return `${b.protocol}//${b.host}${c}`;
    } catch {
      return base.replace(/\/+$/, '') + c;
    }
  }
  return base.endsWith('/') ? base + c : `${base}/${c}`;
}

/** The URLs of one stream check, from the DESCRIBE reply and the SDP's control attributes. */
export function rtspControlUrls(base: string, sessionControl: string | undefined, mediaControl: string | undefined): RtspControlUrls {
  const aggregate = sessionControl === undefined ? undefined : resolveControl(base, sessionControl);
  const media = mediaControl === undefined ? (aggregate ?? base) : resolveControl(base, mediaControl);
  return { base, aggregate, media, play: aggregate ?? media };
}

function isAbsolute(url: string): boolean {
  return /^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(url);
}
