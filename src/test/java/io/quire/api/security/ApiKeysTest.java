package io.quire.api.security;

import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

class ApiKeysTest {

    @Test
    void oneKey() {
        ApiKeys keys = ApiKeys.of(List.of("sk-one"));
        assertThat(keys.isEmpty()).isFalse();
        assertThat(keys.match("sk-one")).isEqualTo(1);
        assertThat(keys.match("sk-on")).isZero();
        assertThat(keys.match("sk-one ")).isZero();
        assertThat(keys.match("SK-ONE")).isZero();
        assertThat(keys.match("")).isZero();
        assertThat(keys.match(null)).isZero();
    }

    @Test
    void severalKeysEachMatchAsThemselves() {
        ApiKeys keys = ApiKeys.of(List.of("sk-one", " sk-two "));
        assertThat(keys.size()).isEqualTo(2);
        assertThat(keys.match("sk-one")).isEqualTo(1);
        assertThat(keys.match("sk-two")).isEqualTo(2);
        assertThat(keys.match("sk-three")).isZero();
    }

    @Test
    void blankOrMissingMeansNoKey() {
        assertThat(ApiKeys.of(null).isEmpty()).isTrue();
        assertThat(ApiKeys.of(List.of()).isEmpty()).isTrue();
        assertThat(ApiKeys.of(Arrays.asList("", "  ", null)).isEmpty()).isTrue();
        assertThat(ApiKeys.none().match("anything")).isZero();
    }
}
