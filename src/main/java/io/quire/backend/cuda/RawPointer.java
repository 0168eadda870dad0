package io.quire.backend.cuda;

import org.bytedeco.javacpp.Pointer;

/**
 * A JavaCPP pointer to memory JavaCPP does not own: a device address (cuBLAS takes device
 * pointers as {@code void*}), pinned host memory, or an FFM segment. Never deallocates.
 */
final class RawPointer extends Pointer {
    RawPointer(long address) {
        this.address = address;
    }
}
