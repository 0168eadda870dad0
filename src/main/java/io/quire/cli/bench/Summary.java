package io.quire.cli.bench;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Mean, median, population standard deviation and chosen percentiles of one latency metric, in
 * the unit of the samples. Percentiles interpolate linearly between the closest ranks, as
 * numpy's default (which vLLM's benchmark uses), so numbers are comparable with vLLM's. An
 * empty sample set summarizes to zeros, as vLLM reports it.
 */
public record Summary(int count, double mean, double median, double std, Map<Double, Double> percentiles) {

    public static Summary of(double[] samples, List<Double> percentileRanks) {
        double[] sorted = samples.clone();
        Arrays.sort(sorted);
        Map<Double, Double> ps = new LinkedHashMap<>();
        for (double p : percentileRanks) {
            ps.put(p, percentile(sorted, p));
        }
        if (sorted.length == 0) {
            return new Summary(0, 0, 0, 0, ps);
        }
        double sum = 0;
        for (double v : sorted) sum += v;
        double mean = sum / sorted.length;
        double sq = 0;
        for (double v : sorted) sq += (v - mean) * (v - mean);
        return new Summary(sorted.length, mean, percentile(sorted, 50), Math.sqrt(sq / sorted.length), ps);
    }

    /** The {@code p}-th percentile (0..100) of ascending {@code sorted}; 0 when empty. */
    public static double percentile(double[] sorted, double p) {
        if (p < 0 || p > 100) {
            throw new IllegalArgumentException("percentile must be within [0, 100], got " + p);
        }
        if (sorted.length == 0) return 0;
        double rank = (sorted.length - 1) * p / 100.0;
        int lo = (int) Math.floor(rank);
        int hi = Math.min(lo + 1, sorted.length - 1);
        double frac = rank - lo;
        return sorted[lo] + (sorted[hi] - sorted[lo]) * frac;
    }

    public double percentile(double p) {
        Double v = percentiles.get(p);
        if (v == null) throw new IllegalArgumentException("percentile " + p + " was not computed");
        return v;
    }
}
