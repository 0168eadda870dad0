// Reference logits from llama.cpp for Quire's architecture tests (see tools/make_arch_fixtures.py).
//
// Usage: dump_logits MODEL.gguf TOKENS N_GEN [WINDOW]
//   TOKENS  comma-separated prompt token ids, or text:STRING to tokenize STRING with llama.cpp
//           (add_special and parse_special on) and use its tokens
//   N_GEN   greedy tokens to generate after the prompt
//   WINDOW  optional: evaluate every position on only its last WINDOW tokens (kept at their absolute
//           positions) in a fresh cache. For a one-layer model that is exactly sliding-window
//           attention, which llama.cpp does not implement for its llama architecture (Mistral).
// Prints JSON: {"prompt": [ids], "logits": [[...] for each prompt position], "tokens": [generated ids]}.
// F32 KV cache, no flash attention, the model's whole trained context (or N_CTX from the environment).
//
// Build (a llama.cpp checkout at $L; GELU made exact first, since ggml's CPU GELU uses an FP16 table):
//   sed -i 's/^#define GGML_GELU_FP16$//' $L/ggml/src/ggml-cpu/vec.h
//   cmake -S $L -B $L/build -DCMAKE_BUILD_TYPE=Release -DLLAMA_CURL=OFF -DLLAMA_BUILD_TESTS=OFF \
//         -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_SERVER=OFF -DLLAMA_BUILD_TOOLS=OFF
//   cmake --build $L/build --target llama -j2
//   g++ -O2 -std=c++17 -I$L/include -I$L/ggml/include dump_logits.cpp -L$L/build/bin -lllama -lggml \
//       -lggml-base -Wl,-rpath,$L/build/bin -o dump_logits
// The fixtures in src/test/resources/archs were made with llama.cpp at commit 8984c5b0.
#include "llama.h"

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

static std::vector<float> eval(llama_context * ctx, const std::vector<llama_token> & toks, int from, int to,
                               bool all, int n_vocab, std::vector<std::vector<float>> * rows) {
    llama_batch b = llama_batch_init(to - from, 0, 1);
    for (int i = from; i < to; i++) {
        int k = b.n_tokens++;
        b.token[k] = toks[i];
        b.pos[k] = i;
        b.n_seq_id[k] = 1;
        b.seq_id[k][0] = 0;
        b.logits[k] = all || i == to - 1;
    }
    if (llama_decode(ctx, b) != 0) { fprintf(stderr, "llama_decode failed\n"); exit(1); }
    std::vector<float> last;
    for (int k = 0; k < b.n_tokens; k++) {
        if (!b.logits[k]) continue;
        const float * l = llama_get_logits_ith(ctx, k);
        std::vector<float> row(l, l + n_vocab);
        if (rows && all) rows->push_back(row);
        last = row;
    }
    llama_batch_free(b);
    return last;
}

static int argmax(const std::vector<float> & v) {
    int best = 0;
    for (size_t i = 1; i < v.size(); i++) if (v[i] > v[best]) best = (int) i;
    return best;
}

int main(int argc, char ** argv) {
    if (argc < 4) { fprintf(stderr, "usage: %s MODEL TOKENS N_GEN [WINDOW]\n", argv[0]); return 2; }
    std::vector<llama_token> toks;
    std::string text = argv[2];
    bool from_text = text.rfind("text:", 0) == 0;
    if (!from_text) for (char * s = argv[2]; *s;) { toks.push_back(strtol(s, &s, 10)); if (*s == ',') s++; }
    int n_gen = atoi(argv[3]);
    int window = argc > 4 ? atoi(argv[4]) : 0;

    llama_backend_init();
    llama_model_params mp = llama_model_default_params();
    llama_model * model = llama_model_load_from_file(argv[1], mp);
    if (!model) { fprintf(stderr, "cannot load %s\n", argv[1]); return 1; }
    const llama_vocab * vocab = llama_model_get_vocab(model);
    int n_vocab = llama_vocab_n_tokens(vocab);
    if (from_text) {
        toks.resize(text.size() + 8);
        int n = llama_tokenize(vocab, text.c_str() + 5, (int) text.size() - 5, toks.data(), (int) toks.size(), true, true);
        if (n < 0) { fprintf(stderr, "tokenize failed\n"); return 1; }
        toks.resize(n);
    }
    llama_context_params cp = llama_context_default_params();
    // N_CTX in the environment serves a smaller context: llama.cpp picks phi3's short RoPE factors
    // only when the served context fits the trained one.
    cp.n_ctx = getenv("N_CTX") ? atoi(getenv("N_CTX")) : llama_model_n_ctx_train(model);
    cp.n_batch = cp.n_ubatch = cp.n_ctx;
    cp.n_seq_max = 1;
    cp.type_k = cp.type_v = GGML_TYPE_F32;
    cp.flash_attn_type = LLAMA_FLASH_ATTN_TYPE_DISABLED;
    cp.swa_full = true;
    cp.n_threads = cp.n_threads_batch = 2;
    llama_context * ctx = llama_init_from_model(model, cp);
    if (!ctx) { fprintf(stderr, "cannot create a context\n"); return 1; }

    std::vector<std::vector<float>> rows;
    std::vector<llama_token> all = toks;
    std::vector<llama_token> gen;
    if (window == 0) {
        std::vector<float> last = eval(ctx, all, 0, (int) all.size(), true, n_vocab, &rows);
        for (int g = 0; g < n_gen; g++) {
            all.push_back(argmax(last));
            gen.push_back(all.back());
            if (g + 1 < n_gen) last = eval(ctx, all, (int) all.size() - 1, (int) all.size(), false, n_vocab, nullptr);
        }
    } else {
        for (size_t p = 0;; p++) {
            llama_memory_clear(llama_get_memory(ctx), true);
            int from = (int) p + 1 > window ? (int) p + 1 - window : 0;
            std::vector<float> last = eval(ctx, all, from, (int) p + 1, false, n_vocab, nullptr);
            if (p < toks.size()) rows.push_back(last);
            if (p + 1 < toks.size()) continue;
            if ((int) gen.size() == n_gen) break;
            all.push_back(argmax(last));
            gen.push_back(all.back());
        }
    }
    printf("{\"prompt\": [");
    for (size_t i = 0; i < toks.size(); i++) printf(i ? ",%d" : "%d", toks[i]);
    printf("],\n\"logits\": [");
    for (size_t r = 0; r < rows.size(); r++) {
        printf(r ? ",\n[" : "\n[");
        for (int i = 0; i < n_vocab; i++) printf(i ? ",%.9g" : "%.9g", rows[r][i]);
        printf("]");
    }
    printf("],\n\"tokens\": [");
    for (size_t i = 0; i < gen.size(); i++) printf(i ? ",%d" : "%d", gen[i]);
    printf("]}\n");
    llama_free(ctx);
    llama_model_free(model);
    return 0;
}
