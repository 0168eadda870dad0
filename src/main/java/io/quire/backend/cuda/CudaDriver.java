package io.quire.backend.cuda;

import java.lang.foreign.Arena;
import java.lang.foreign.SymbolLookup;

/**
 * Looks for the CUDA driver ({@code libcuda.so.1}) with the dynamic linker's own search (FFM's
 * dlopen), before anything touches JavaCPP: loading the bindings first unpacks their native
 * libraries into {@code ~/.javacpp/cache}, which a machine without a GPU should not pay for.
 */
final class CudaDriver {
    static final String LIBRARY = "libcuda.so.1";

    private CudaDriver() {}

    /** Null when the driver library opens, else why it does not. */
    static String missingReason() {
        try {
            // The global arena keeps the library loaded: the bindings load it next anyway.
            SymbolLookup.libraryLookup(LIBRARY, Arena.global());
            return null;
        } catch (IllegalArgumentException e) {
            return "the CUDA driver " + LIBRARY + " is not installed (" + e.getMessage() + ")";
        }
    }
}
