package io.quire.backend.cuda;

import org.bytedeco.cuda.cublas.cublasContext;
import org.bytedeco.cuda.global.cublas;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.Loader;

import static org.bytedeco.cuda.global.cublas.*;
import static org.bytedeco.cuda.global.cudart.CUDA_R_32F;

/**
 * Matrix products through cuBLAS ({@code libcublas.so.13}): FP16 or BF16 inputs, FP32
 * accumulation and FP32 output ({@code cublasGemmEx}), on the device's stream.
 */
public final class Cublas implements AutoCloseable {
    private final CudaDevice device;
    private final cublasContext handle = new cublasContext();
    private final FloatPointer one = new FloatPointer(1f);
    private final FloatPointer zero = new FloatPointer(0f);
    private final FloatPointer betaOne = new FloatPointer(1f);

    Cublas(CudaDevice device) {
        this.device = device;
        try {
            Loader.load(cublas.class);
        } catch (Throwable t) {
            throw new CudaException("cuBLAS is unavailable (libcublas.so.13 and libcublasLt.so.13 needed): "
                    + Cuda.describe(t), t);
        }
        device.bind();
        check(cublasCreate_v2(handle), "cublasCreate");
        check(cublasSetStream_v2(handle, device.stream()), "cublasSetStream");
    }

    /**
     * {@code y[t][r] = sum_c w[r][c] * x[t][c]} (plus y's old value when {@code accumulate}) for
     * {@code n} rows of x: w is {@code [rows][cols]} row-major as GGUF stores it, x {@code [n][cols]},
     * both of {@code type}; y {@code [n][rows]} FP32.
     */
    public void matmul(CudaDtype type, long w, int rows, int cols, long x, int n, long y, boolean accumulate) {
        if (rows <= 0 || cols <= 0 || n <= 0) throw new IllegalArgumentException("matmul shape " + rows + "x" + cols
                + " times " + n + " must be positive");
        device.bind();
        // Row-major W[rows][cols] is column-major W^T (cols x rows, ld = cols); Y^T = W * X^T in
        // column-major terms: m = rows, n = tokens, k = cols.
        check(cublasGemmEx(handle, CUBLAS_OP_T, CUBLAS_OP_N, rows, n, cols,
                one, new RawPointer(w), type.cudaDataType(), cols,
                new RawPointer(x), type.cudaDataType(), cols,
                accumulate ? betaOne : zero, new RawPointer(y), CUDA_R_32F, rows,
                CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT), "cublasGemmEx(" + rows + "x" + cols + ", n=" + n + ")");
        device.countLaunch();
    }

    public void matmul(CudaDtype type, DeviceBuffer w, int rows, int cols, DeviceBuffer x, int n, DeviceBuffer y) {
        if (w.bytes() < 2L * rows * cols || x.bytes() < 2L * n * cols || y.bytes() < 4L * n * rows) {
            throw new IllegalArgumentException("matmul buffers too small for " + rows + "x" + cols + " times " + n);
        }
        matmul(type, w.ptr(), rows, cols, x.ptr(), n, y.ptr(), false);
    }

    private static void check(int status, String call) {
        if (status != CUBLAS_STATUS_SUCCESS) {
            String text;
            try {
                text = cublasGetStatusString(status).getString();
            } catch (Throwable t) {
                text = "status " + status;
            }
            throw new CudaException(call + " failed: " + text);
        }
    }

    @Override
    public void close() {
        device.bind();
        cublasDestroy_v2(handle);
        one.close();
        zero.close();
        betaOne.close();
    }
}
