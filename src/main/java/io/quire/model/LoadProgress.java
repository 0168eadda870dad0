package io.quire.model;

/**
 * Told how far loading a model file has come: bytes of the file read so far, of all. Called on the
 * loading thread; it must be quick.
 */
@FunctionalInterface
public interface LoadProgress {
    LoadProgress NONE = (done, total) -> { };

    void read(long bytesDone, long bytesTotal);
}
