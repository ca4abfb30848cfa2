declare module '@cycjimmy/jsmpeg-player' {
  interface PlayerOptions {
    canvas?: HTMLCanvasElement;
    audio?: boolean;
    video?: boolean;
    disableGl?: boolean;
    disableWebAssembly?: boolean;
    onVideoDecode?: () => void;
    onSourceEstablished?: () => void;
  }
  const JSMpeg: { Player: new (url: string, options?: PlayerOptions) => { destroy(): void } };
  export default JSMpeg;
}
