package io.quire.cli;

import io.quire.model.LanguageModel;

import java.util.List;

/** Opens CudaCheck's greedy driver to tests in other packages. */
public final class CudaCheckAccess {
    private CudaCheckAccess() {}

    public static List<Integer> greedy(LanguageModel<?> model, int count) {
        return CudaCheck.greedy(model, count);
    }
}
