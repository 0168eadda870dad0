package io.quire;

import io.quire.engine.EngineConfig;
import io.quire.engine.PreemptionMode;
import io.quire.engine.SchedulingPolicy;
import io.quire.kv.KvAllocationPolicy;
import io.quire.model.ModelLoader;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;
import org.springframework.util.unit.DataSize;

import java.time.Duration;
import java.util.List;

/**
 * Server settings under {@code quire.*} (documented in {@code application.yml}); each can be given
 * on the command line, e.g. {@code --quire.model=/models/qwen2.5-0.5b-instruct-q8_0.gguf}.
 *
 * <p>Defaults live here ({@code @DefaultValue}), the engine's as {@link EngineConfig}'s constants
 * that its own constructors use too; {@code application.yml} shows the same values to a reader and
 * {@code QuirePropertiesDefaultsTest} fails when it drifts.
 *
 * @param model                a GGUF file, a Hugging Face model id ({@code Org/Name[@revision]}: its GGUF file is
 *                             downloaded into the Hugging Face cache first, see {@code HubModelInitializer}), or
 *                             {@code dummy} for the built-in random-weight model
 * @param modelFile            which GGUF file of a Hub repository that holds several
 * @param servedModelName      the name clients send in {@code model}; blank: the file name without
 *                             {@code .gguf} ({@code quire-dummy} for the dummy model)
 * @param blockSize            tokens per KV-cache block
 * @param kvCacheMemory        memory for the KV cache, obeyed exactly; the number of blocks follows from it.
 *                             0: sized by need, max-num-seqs requests of max-model-len tokens, at most 512MB
 *                             and never less than one such request
 * @param maxNumSeqs           most requests batched in one step
 * @param maxNumBatchedTokens  most tokens (prompt chunks plus decode tokens) in one step
 * @param maxModelLen          most tokens (prompt plus output) per request; 0: the model's context length
 * @param threads              compute threads; 0: all cores
 * @param chatTemplate         a Jinja file to use instead of the model's {@code tokenizer.chat_template};
 *                             blank: the model's
 * @param enablePrefixCaching  reuse the KV of prompt prefixes earlier requests computed (automatic prefix caching)
 * @param swapSpace            host memory for the KV blocks of preempted requests; 0: preemption always recomputes
 * @param preemptionMode       recompute, swap, or auto (swap multi-sequence requests, recompute single ones)
 * @param schedulingPolicy     fcfs, or priority: requests served by their {@code priority} field (lower first),
 *                             then arrival, which also picks the preemption victim (vLLM's --scheduling-policy)
 * @param kvAllocationPolicy   paged (the default), or for memory experiments an up-front reservation per
 *                             request: orca_max, orca_pow2, orca_oracle (docs/kv-memory.md)
 * @param device               auto (the GPU when a CUDA driver and device exist, else the CPU), cpu or cuda
 * @param gpuMemoryUtilization fraction of free GPU memory the KV cache may take (on a GPU, instead of kvCacheMemory;
 *                             0: kvCacheMemory there too)
 * @param dtype                the GPU's 16-bit type for weights, matrix-product inputs and the KV cache:
 *                             auto (BF16 for a BF16 model file, else FP16), float16 or bfloat16; the CPU
 *                             computes in FP32
 * @param kvCacheDtype         the CPU's KV cache type (vLLM's {@code --kv-cache-dtype}): auto (float16 for
 *                             quantized weights, as llama.cpp's default cache; float32 for float32 or 16-bit
 *                             weights), float32, float16, fp8 (fp8_e4m3) or fp8_e5m2; on a GPU the cache
 *                             is in {@code dtype}
 * @param maxWaitingRequests   most sequences queued and not yet running (each request counts prompts x n);
 *                             a request that would pass it gets 429 with Retry-After and nothing is queued
 * @param shutdownGrace        on shutdown (SIGTERM), how long running requests may still finish before
 *                             they are aborted (streams then end with finish_reason "abort" and [DONE])
 * @param warmup               before taking requests, run made-up sequences through the model, one round and
 *                             then more for about this long, so the kernels are compiled for the first request
 *                             (0: no warm-up), then
 *                             send at most {@code warmupRequests} short requests through the HTTP API within
 *                             {@code warmupRequestsTime}, so the web path is compiled too (clients get 503 meanwhile)
 * @param warmupRequests       most such requests (0: none)
 * @param warmupRequestsTime   how long they may take in all (0s: none)
 * @param apiKey               API keys (vLLM's {@code --api-key}); several may be given, comma-separated or as a list.
 *                             Any set: every route but {@code /health}, {@code /version} and the Actuator health and
 *                             Prometheus endpoints needs {@code Authorization: Bearer <key>}. None: all open
 * @param cors                 which browser origins may call the API (CORS)
 * @param toolCallParser       how the model writes function calls (vLLM's {@code --tool-call-parser}): hermes
 *                             (Hermes, Qwen2.5, Qwen3), llama3_json (Llama 3.1-3.3), mistral, qwen3_coder; blank:
 *                             none, and chat requests with tools may only send tool_choice none
 * @param reasoningParser      moves {@code <think>} text into {@code reasoning_content} (vLLM's
 *                             {@code --reasoning-parser}): deepseek_r1 or qwen3; blank: none
 * @param loraModules          LoRA adapters served beside the model (vLLM's {@code --lora-modules}), each
 *                             {@code name=path}: a client sends {@code name} as {@code model} to run with the
 *                             adapter at {@code path}, a PEFT folder ({@code adapter_config.json},
 *                             {@code adapter_model.safetensors}) or a llama.cpp GGUF adapter; CPU backend only
 * @param speculativeConfig    speculative decoding as vLLM's {@code --speculative-config} JSON, method
 *                             {@code ngram} only (prompt lookup): e.g. {@code {"method": "ngram",
 *                             "num_speculative_tokens": 3, "prompt_lookup_max": 4, "prompt_lookup_min": 1}};
 *                             blank: none
 */
@ConfigurationProperties("quire")
public record QuireProperties(
        @DefaultValue(DUMMY) String model,
        String modelFile,
        String servedModelName,
        @DefaultValue("" + EngineConfig.DEFAULT_BLOCK_SIZE) int blockSize,
        @DefaultValue("0B") DataSize kvCacheMemory,
        @DefaultValue("" + EngineConfig.DEFAULT_MAX_NUM_SEQS) int maxNumSeqs,
        @DefaultValue("" + EngineConfig.DEFAULT_MAX_NUM_BATCHED_TOKENS) int maxNumBatchedTokens,
        @DefaultValue("0") int maxModelLen,
        @DefaultValue("0") int threads,
        String chatTemplate,
        @DefaultValue("true") boolean enablePrefixCaching,
        @DefaultValue("0B") DataSize swapSpace,
        @DefaultValue("AUTO") PreemptionMode preemptionMode,
        @DefaultValue("FCFS") SchedulingPolicy schedulingPolicy,
        @DefaultValue("PAGED") KvAllocationPolicy kvAllocationPolicy,
        @DefaultValue("auto") String device,
        @DefaultValue("0.9") double gpuMemoryUtilization,
        @DefaultValue("auto") String dtype,
        @DefaultValue("auto") String kvCacheDtype,
        @DefaultValue("" + EngineConfig.DEFAULT_MAX_WAITING_REQUESTS) int maxWaitingRequests,
        @DefaultValue("30s") Duration shutdownGrace,
        @DefaultValue("2s") Duration warmup,
        @DefaultValue("256") int warmupRequests,
        @DefaultValue("5s") Duration warmupRequestsTime,
        @DefaultValue List<String> apiKey,
        @DefaultValue Cors cors,
        String toolCallParser,
        String reasoningParser,
        @DefaultValue List<String> loraModules,
        String speculativeConfig) {

    public static final String DUMMY = ModelLoader.DUMMY;

    public boolean dummy() { return model == null || model.isBlank() || DUMMY.equals(model); }

    /**
     * {@code quire.cors.*} (vLLM's {@code --allowed-origins}).
     *
     * @param allowedOrigins origins a browser app may call from (e.g. {@code https://app.example.com}, or {@code *});
     *                       none: no CORS headers are sent
     * @param allowedHeaders request headers such an app may send
     */
    public record Cors(@DefaultValue List<String> allowedOrigins,
                       @DefaultValue({"Authorization", "Content-Type"}) List<String> allowedHeaders) {}
}
