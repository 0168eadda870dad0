package io.quire.kv;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class KvAllocationPolicyTest {

    @Test
    void reservationsFollowThePaper() {
        // prompt 100 + 200 outputs = 300 tokens, max model length 2048.
        assertThat(KvAllocationPolicy.PAGED.reservedTokens(100, 200, 2048)).isZero();
        assertThat(KvAllocationPolicy.ORCA_MAX.reservedTokens(100, 200, 2048)).isEqualTo(2048);
        assertThat(KvAllocationPolicy.ORCA_POW2.reservedTokens(100, 200, 2048)).isEqualTo(512);
        assertThat(KvAllocationPolicy.ORCA_ORACLE.reservedTokens(100, 200, 2048)).isEqualTo(300);
        // Exactly a power of two stays; the cap is the maximum model length.
        assertThat(KvAllocationPolicy.ORCA_POW2.reservedTokens(56, 200, 2048)).isEqualTo(256);
        assertThat(KvAllocationPolicy.ORCA_POW2.reservedTokens(600, 100, 1000)).isEqualTo(1000);
        assertThat(KvAllocationPolicy.ORCA_ORACLE.reservedTokens(900, 500, 1000)).isEqualTo(1000);
        assertThat(KvAllocationPolicy.PAGED.reservesAhead()).isFalse();
        assertThat(KvAllocationPolicy.ORCA_ORACLE.reservesAhead()).isTrue();
    }

    @Test
    void nextPowerOfTwo() {
        assertThat(KvAllocationPolicy.nextPowerOfTwo(0)).isEqualTo(1);
        assertThat(KvAllocationPolicy.nextPowerOfTwo(1)).isEqualTo(1);
        assertThat(KvAllocationPolicy.nextPowerOfTwo(2)).isEqualTo(2);
        assertThat(KvAllocationPolicy.nextPowerOfTwo(3)).isEqualTo(4);
        assertThat(KvAllocationPolicy.nextPowerOfTwo(1025)).isEqualTo(2048);
        assertThat(KvAllocationPolicy.nextPowerOfTwo(Integer.MAX_VALUE)).isEqualTo(1L << 31);
    }
}
