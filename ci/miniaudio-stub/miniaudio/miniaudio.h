/* servegate's stand-in for miniaudio.h. Ollama's Go module ships no llama.cpp vendor/
 * directory: stb and nlohmann come from Debian (libstb-dev, nlohmann-json3-dev), miniaudio
 * from nowhere, so `go install github.com/ollama/ollama@v0.17.4` fails in
 * llama/llama.cpp/tools/mtmd/mtmd-helper.cpp. This declares just the decoder calls that file
 * makes and answers every one with an error: audio input is refused ("Unable to read WAV
 * audio file"), everything else builds as released. Servegate sends no audio. Used by
 * ci/ollama-lib.sh through CGO_CPPFLAGS=-I<this directory's parent>. */
#ifndef SERVEGATE_MINIAUDIO_STUB_H
#define SERVEGATE_MINIAUDIO_STUB_H
#include <stddef.h>
typedef int ma_result;
typedef unsigned long long ma_uint64;
typedef enum { ma_format_f32 = 5 } ma_format;
typedef struct { ma_format format; unsigned int channels, sampleRate; } ma_decoder_config;
typedef struct { int unused; } ma_decoder;
#define MA_SUCCESS 0
#define MA_NOT_IMPLEMENTED (-29)
static inline ma_decoder_config ma_decoder_config_init(ma_format f, unsigned int ch, unsigned int rate) {
    ma_decoder_config c = {f, ch, rate};
    return c;
}
static inline ma_result ma_decoder_init_memory(const void *d, size_t n, const ma_decoder_config *c, ma_decoder *dec) {
    (void)d; (void)n; (void)c; (void)dec;
    return MA_NOT_IMPLEMENTED;
}
static inline ma_result ma_decoder_get_length_in_pcm_frames(ma_decoder *d, ma_uint64 *n) { (void)d; *n = 0; return MA_NOT_IMPLEMENTED; }
static inline ma_result ma_decoder_read_pcm_frames(ma_decoder *d, void *out, ma_uint64 n, ma_uint64 *read) {
    (void)d; (void)out; (void)n; *read = 0;
    return MA_NOT_IMPLEMENTED;
}
static inline ma_result ma_decoder_uninit(ma_decoder *d) { (void)d; return MA_SUCCESS; }
#endif
