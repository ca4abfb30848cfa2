/**
 * node-rtsp-stream ships no types. The registry uses only its muxer: it spawns
 * `ffmpeg -i <url> -f mpegts -codec:v mpeg1video <options...> -` and emits the MPEG-TS output.
 */
declare module 'node-rtsp-stream/mpeg1muxer.js' {
  import type { ChildProcessWithoutNullStreams } from 'node:child_process';
  import { EventEmitter } from 'node:events';

  interface Mpeg1MuxerOptions {
    url: string;
    ffmpegPath: string;
    /** Output options: each key is a flag, followed by its value unless the value is ''. */
    ffmpegOptions?: Record<string, string>;
  }

  class Mpeg1Muxer extends EventEmitter {
    constructor(options: Mpeg1MuxerOptions);
    /** The ffmpeg process. */
    readonly stream: ChildProcessWithoutNullStreams;
    on(event: 'mpeg1data' | 'ffmpegStderr', listener: (data: Buffer) => void): this;
    on(event: 'exitWithError', listener: () => void): this;
  }

  export = Mpeg1Muxer;
}
