/**
 * Types for the raw emscripten exports of @echogarden/speex-resampler-wasm 0.3.0, which ships no
 * declarations. Only what resample.ts calls is declared. Pointers are byte offsets into HEAP*;
 * the HEAP views are replaced when the wasm memory grows, so read them from the module each time.
 */
declare module '@echogarden/speex-resampler-wasm/simd' {
  export interface SpeexResamplerModule {
    readonly HEAP16: Int16Array;
    readonly HEAPU32: Uint32Array;
    readonly HEAP32: Int32Array;
    _malloc(bytes: number): number;
    _free(ptr: number): void;
    _speex_resampler_init(
      channels: number, inRate: number, outRate: number, quality: number, errPtr: number,
    ): number;
    _speex_resampler_destroy(state: number): void;
    _speex_resampler_process_int(
      state: number, channelIndex: number, inPtr: number, inLenPtr: number, outPtr: number,
      outLenPtr: number,
    ): number;
    _speex_resampler_skip_zeros(state: number): number;
    _speex_resampler_get_input_latency(state: number): number;
  }
  const init: (moduleArg?: Record<string, unknown>) => Promise<SpeexResamplerModule>;
  export default init;
}
