package io.quire.kv;

import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.IntUnaryOperator;
import java.util.function.ToIntFunction;
import java.util.function.UnaryOperator;

/**
 * Which blocks hold each sequence's KV (vLLM v1's {@code KVCacheManager}, with V0's block sharing
 * and swapping): blocks are allocated step by step as tokens are scheduled and kept in a
 * per-sequence block table in logical order.
 *
 * <p>Sharing: a block can sit in several tables at once (its reference count says how many).
 * <ul>
 * <li>Prefix caching: full blocks are registered under a chained {@link BlockHash}; a new sequence
 *     takes the cached blocks of its longest cached prefix ({@link #findCachedPrefix}) instead of
 *     recomputing them. Freed cached blocks stay findable until the pool reuses them (LRU).</li>
 * <li>Forks: {@link #fork} gives a new sequence all the blocks of another (parallel sampling,
 *     beam search). A sequence that is about to write into a block others still reference gets a
 *     private copy first (copy-on-write, a {@link BlockOp.Kind#COPY} op).</li>
 * <li>Swapping: {@link #swapOut} moves a group of sequences' blocks to a host-side pool (shared
 *     blocks once, sharing kept), {@link #swapIn} brings them back into fresh device blocks.</li>
 * <li>Sliding window: when every layer of the model attends only to its last {@code slidingWindow}
 *     positions (Mistral), blocks that lie wholly before the window of a sequence's next token go
 *     back to the pool and their table entries become null ({@link #blockTable} gives -1), as vLLM's
 *     sliding-window manager does. A freed block keeps its hash until reused, so the prefix cache
 *     still finds it; and a hit only needs the blocks inside the window of its first new token
 *     (the ones before it are taken as null).</li>
 * </ul>
 * The data movements are queued as {@link BlockOp}s in decision order; the engine takes them with
 * {@link #takeBlockOps} and performs them before the forward pass. Not thread-safe: only the engine
 * thread touches it.
 *
 * <p>Over 400 lines on purpose: block tables, reference counts, the prefix-cache index and the swap
 * side change together in every operation (a fork, a swap, a copy-on-write touches all of them),
 * and their invariants are easiest to check in one place.
 */
public final class KvCacheManager {
    private final BlockPool pool;
    private final BlockPool swapPool; // null without swap space
    private final BlockHash[] swapHashes; // the hash a swapped-out block had on the device
    private final int blockSize;
    private final boolean prefixCaching;
    private final SlidingWindow window;
    private final int slidingWindow; // positions every layer attends to: 0 unless every layer slides
    private long numWindowFreedBlocks;
    private final Map<String, Table> tables = new LinkedHashMap<>();
    private final Map<String, Table> swappedTables = new HashMap<>();
    private final List<BlockOp> ops = new ArrayList<>();
    private long numCowCopies;

    /** A sequence's blocks, plus the hashes of its leading full blocks (so far as computed). */
    private static final class Table {
        final List<KvCacheBlock> blocks = new ArrayList<>();
        final List<BlockHash> hashes = new ArrayList<>();
        int firstHeld; // entries before it are null (freed by the sliding window)
    }

    public KvCacheManager(int numBlocks, int blockSize) {
        this(numBlocks, blockSize, false, 0);
    }

    /**
     * @param enablePrefixCaching whether full blocks are cached by hash and reused across sequences
     * @param numSwapBlocks       blocks of the host-side swap pool (0: no swapping)
     */
    public KvCacheManager(int numBlocks, int blockSize, boolean enablePrefixCaching, int numSwapBlocks) {
        this(numBlocks, blockSize, enablePrefixCaching, numSwapBlocks, SlidingWindow.NONE);
    }

    /**
     * @param window the model's sliding window: when every layer slides, blocks before a sequence's
     *               window are freed as it advances; otherwise the report shows what it would save
     */
    public KvCacheManager(int numBlocks, int blockSize, boolean enablePrefixCaching, int numSwapBlocks,
            SlidingWindow window) {
        if (blockSize <= 0) throw new IllegalArgumentException("blockSize must be positive, got " + blockSize);
        if (numSwapBlocks < 0) throw new IllegalArgumentException("numSwapBlocks must be >= 0, got " + numSwapBlocks);
        this.pool = new BlockPool(numBlocks);
        this.swapPool = numSwapBlocks > 0 ? new BlockPool(numSwapBlocks) : null;
        this.swapHashes = new BlockHash[numSwapBlocks];
        this.blockSize = blockSize;
        this.prefixCaching = enablePrefixCaching;
        this.window = window;
        this.slidingWindow = window.freesBlocks() ? window.window() : 0;
    }

    /** The model's sliding window, as given. */
    public SlidingWindow slidingWindow() { return window; }

    /** Blocks returned to the pool so far because they fell out of a sliding window. */
    public long numWindowFreedBlocks() { return numWindowFreedBlocks; }

    public int blockSize() { return blockSize; }

    public boolean prefixCachingEnabled() { return prefixCaching; }

    public int numFreeBlocks() { return pool.numFreeBlocks(); }

    public int numTotalBlocks() { return pool.numTotalBlocks(); }

    /** Fraction of blocks in use, 0..1. */
    public double usage() { return pool.usage(); }

    public int numSwapBlocks() { return swapPool == null ? 0 : swapPool.numTotalBlocks(); }

    public int numFreeSwapBlocks() { return swapPool == null ? 0 : swapPool.numFreeBlocks(); }

    /** Fraction of swap blocks in use, 0..1 (0 without swap space). */
    public double swapUsage() { return swapPool == null ? 0 : swapPool.usage(); }

    /** Reference count of device block {@code blockId}. */
    public int refCount(int blockId) { return pool.block(blockId).refCount(); }

    /** Reference count of swap block {@code blockId}. */
    public int swapRefCount(int blockId) { return swapPool.block(blockId).refCount(); }

    /** Blocks findable by prefix hash (in use or free). */
    public int numCachedBlocks() { return pool.numCachedBlocks(); }

    /** Copy-on-write copies decided so far. */
    public long numCowCopies() { return numCowCopies; }

    /** Distinct device blocks referenced by at least one sequence. */
    public int numUsedBlocks() { return pool.numTotalBlocks() - pool.numFreeBlocks(); }

    /** Blocks needed to hold {@code numTokens} tokens. */
    public int blocksFor(int numTokens) { return (numTokens + blockSize - 1) / blockSize; }

    /**
     * The longest prefix of the sequence's first {@code numTokens} tokens whose full blocks are
     * cached (none when prefix caching is off). Only blocks before the last token count: that token
     * is always recomputed, for its logits. Nothing changes until the hit is passed to
     * {@link #allocateSlots(String, int, int, PrefixHit)}.
     *
     * @param extraKey mixed into every block hash (a cache salt): different keys never share
     */
    public PrefixHit findCachedPrefix(IntUnaryOperator tokenAt, int numTokens, String extraKey) {
        if (!prefixCaching) return PrefixHit.NONE;
        int maxBlocks = (numTokens - 1) / blockSize;
        List<KvCacheBlock> blocks = new ArrayList<>();
        List<BlockHash> hashes = new ArrayList<>();
        BlockHash parent = null;
        for (int i = 0; i < maxBlocks; i++) {
            BlockHash h = BlockHash.of(parent, blockTokens(tokenAt, i), extraKey);
            KvCacheBlock b = pool.cachedBlock(h);
            // Without a window the hit ends at the first miss; with one, a miss may lie before a later window.
            if (b == null && slidingWindow == 0) break;
            blocks.add(b);
            hashes.add(h);
            parent = h;
        }
        // The longest k whose blocks inside the window of the first new token (position k * blockSize) are cached.
        for (int k = blocks.size(); k > 0; k--) {
            int from = windowStartBlock(k * blockSize);
            boolean ok = true;
            for (int i = from; i < k && ok; i++) ok = blocks.get(i) != null;
            if (!ok) continue;
            List<KvCacheBlock> hit = new ArrayList<>(blocks.subList(0, k));
            for (int i = 0; i < from; i++) hit.set(i, null);
            return new PrefixHit(hit, hashes.subList(0, k));
        }
        return PrefixHit.NONE;
    }

    /** The first block the token at {@code position} reads: 0 without a window. */
    private int windowStartBlock(int position) {
        return slidingWindow == 0 ? 0 : Math.max(0, position - slidingWindow + 1) / blockSize;
    }

    /**
     * Frees the table's blocks wholly before the window of its next token, at {@code numComputedTokens}
     * (vLLM's {@code remove_skipped_blocks}): no layer reads them again.
     */
    private void freeOutOfWindow(Table table, int numComputedTokens) {
        if (slidingWindow == 0 || table == null) return;
        int upTo = Math.min(windowStartBlock(numComputedTokens), table.blocks.size());
        for (int b = table.firstHeld; b < upTo; b++) {
            KvCacheBlock block = table.blocks.get(b);
            if (block == null) continue;
            table.blocks.set(b, null);
            pool.free(List.of(block));
            numWindowFreedBlocks++;
        }
        table.firstHeld = Math.max(table.firstHeld, upTo);
    }

    private int[] blockTokens(IntUnaryOperator tokenAt, int block) {
        int[] t = new int[blockSize];
        for (int j = 0; j < blockSize; j++) t[j] = tokenAt.applyAsInt(block * blockSize + j);
        return t;
    }

    /**
     * Makes room for {@code numNewTokens} more tokens after the sequence's {@code numComputedTokens}
     * cached ones, allocating only the blocks it lacks. Returns false, allocating nothing, when the
     * pool has too few free blocks (the scheduler then preempts or waits).
     */
    public boolean allocateSlots(String seqId, int numComputedTokens, int numNewTokens) {
        return allocateSlots(seqId, numComputedTokens, numNewTokens, PrefixHit.NONE);
    }

    /**
     * As {@link #allocateSlots(String, int, int)}, for a sequence that holds no blocks yet, first
     * taking the blocks of {@code hit} (which must cover exactly its first {@code numComputedTokens}
     * tokens). A block about to be written that other sequences also reference is replaced by a
     * private copy (copy-on-write). All or nothing: false changes nothing.
     */
    public boolean allocateSlots(String seqId, int numComputedTokens, int numNewTokens, PrefixHit hit) {
        if (numComputedTokens < 0 || numNewTokens < 0) throw new IllegalArgumentException("negative token count");
        if (swappedTables.containsKey(seqId)) throw new IllegalStateException("sequence " + seqId + " is swapped out");
        Table table = tables.get(seqId);
        freeOutOfWindow(table, numComputedTokens);
        if (!hit.isEmpty()) {
            if (table != null && !table.blocks.isEmpty()) {
                throw new IllegalStateException("a prefix hit for " + seqId + ", which already holds blocks");
            }
            if (hit.numBlocks() * blockSize != numComputedTokens) {
                throw new IllegalArgumentException("a prefix hit of " + hit.numBlocks() + " blocks covers "
                        + hit.numBlocks() * blockSize + " tokens, not " + numComputedTokens);
            }
        }
        int have = (table == null ? 0 : table.blocks.size()) + hit.numBlocks();
        int end = numComputedTokens + numNewTokens;
        int numNew = Math.max(0, blocksFor(end) - have);
        // Blocks written this step that already exist and are shared need a private copy.
        int numCow = 0;
        if (table != null && numNewTokens > 0) {
            for (int b = numComputedTokens / blockSize; b < Math.min(table.blocks.size(), blocksFor(end)); b++) {
                if (table.blocks.get(b) != null && table.blocks.get(b).refCount() > 1) numCow++;
            }
        }
        int hitFromFree = 0;
        for (KvCacheBlock b : hit.heldBlocks()) if (b.refCount() == 0) hitFromFree++;
        if (numNew + numCow + hitFromFree > pool.numFreeBlocks()) return false;
        if (numNew + numCow + hit.numBlocks() == 0) return true;

        if (table == null) tables.put(seqId, table = new Table());
        for (KvCacheBlock b : hit.blocks()) {
            if (b != null) pool.touch(b);
            table.blocks.add(b);
        }
        table.hashes.addAll(hit.hashes());
        if (numCow > 0) {
            for (int b = numComputedTokens / blockSize; b < Math.min(table.blocks.size(), blocksFor(end)); b++) {
                KvCacheBlock old = table.blocks.get(b);
                if (old == null || old.refCount() <= 1) continue;
                KvCacheBlock copy = pool.allocate(1).getFirst();
                ops.add(new BlockOp(BlockOp.Kind.COPY, old.blockId(), copy.blockId()));
                table.blocks.set(b, copy);
                pool.free(List.of(old));
                numCowCopies++;
            }
        }
        table.blocks.addAll(pool.allocate(numNew));
        return true;
    }

    /**
     * Registers the sequence's full, computed blocks in the prefix cache (a no-op when it is off):
     * call after a step with the sequence's tokens and how many have their KV computed now.
     */
    public void cacheFullBlocks(String seqId, IntUnaryOperator tokenAt, int numComputedTokens, String extraKey) {
        if (!prefixCaching) return;
        Table table = tables.get(seqId);
        if (table == null) return;
        int full = Math.min(numComputedTokens / blockSize, table.blocks.size());
        for (int i = table.hashes.size(); i < full; i++) {
            BlockHash parent = i == 0 ? null : table.hashes.get(i - 1);
            BlockHash h = BlockHash.of(parent, blockTokens(tokenAt, i), extraKey);
            table.hashes.add(h);
            if (table.blocks.get(i) != null) pool.cache(table.blocks.get(i), h);
        }
    }

    /**
     * Gives {@code child} (which holds nothing) every block of {@code parent}, on the device or in
     * the swap pool wherever the parent's are: both now reference them.
     */
    public void fork(String parent, String child) {
        if (tables.containsKey(child) || swappedTables.containsKey(child)) {
            throw new IllegalStateException("fork target " + child + " already holds blocks");
        }
        boolean swapped = swappedTables.containsKey(parent);
        Table p = swapped ? swappedTables.get(parent) : tables.get(parent);
        if (p == null) throw new IllegalStateException("cannot fork " + parent + ": it holds no blocks");
        Table c = new Table();
        for (KvCacheBlock b : p.blocks) {
            if (b != null) (swapped ? swapPool : pool).share(b);
            c.blocks.add(b);
        }
        c.hashes.addAll(p.hashes);
        c.firstHeld = p.firstHeld;
        (swapped ? swappedTables : tables).put(child, c);
    }

    /**
     * The first {@code numBlocks} device blocks of {@code seqId}'s table, with their hashes so far,
     * as a hit for another sequence of the same request whose tokens start the same way (a forked
     * request recomputed after preemption: its sequences take their common prompt from one of them
     * again instead of each computing a copy). Pass it to {@link #allocateSlots(String, int, int, PrefixHit)}.
     */
    public PrefixHit sharedPrefix(String seqId, int numBlocks) {
        Table table = tables.get(seqId);
        if (numBlocks == 0) return PrefixHit.NONE;
        if (table == null || numBlocks < 0 || numBlocks > table.blocks.size()) {
            throw new IllegalArgumentException("sequence " + seqId + " holds "
                    + (table == null ? 0 : table.blocks.size()) + " device blocks, not " + numBlocks);
        }
        return new PrefixHit(table.blocks.subList(0, numBlocks),
                table.hashes.subList(0, Math.min(numBlocks, table.hashes.size())));
    }

    /** The sequence's physical block ids in logical order (empty if it holds none). */
    public int[] blockTable(String seqId) {
        Table table = tables.get(seqId);
        if (table == null) return new int[0];
        int[] ids = new int[table.blocks.size()];
        for (int i = 0; i < ids.length; i++) ids[i] = table.blocks.get(i) == null ? -1 : table.blocks.get(i).blockId();
        return ids;
    }

    /** Device blocks in the sequence's table. */
    public int numBlocks(String seqId) {
        Table table = tables.get(seqId);
        return table == null ? 0 : table.blocks.size();
    }

    /**
     * Writes the KV slots of the sequence's tokens at positions {@code start..start+count-1} into
     * {@code out} from {@code outOffset}: {@code block * blockSize + position % blockSize}.
     */
    public void slotMapping(String seqId, int start, int count, int[] out, int outOffset) {
        Table table = tables.get(seqId);
        for (int i = 0; i < count; i++) {
            int pos = start + i;
            int logical = pos / blockSize;
            if (table == null || logical >= table.blocks.size() || table.blocks.get(logical) == null) {
                throw new IllegalStateException("sequence " + seqId + " has no block for position " + pos);
            }
            out[outOffset + i] = table.blocks.get(logical).blockId() * blockSize + pos % blockSize;
        }
    }

    /** Frees all the sequence's blocks, on the device or in the swap pool; a no-op if it holds none. */
    public void free(String seqId) {
        Table table = tables.remove(seqId);
        if (table != null) pool.free(held(table.blocks.reversed()));
        Table swapped = swappedTables.remove(seqId);
        if (swapped != null) swapPool.free(held(swapped.blocks.reversed()));
    }

    /** Sequences that hold device blocks. */
    public int numRequests() { return tables.size(); }

    /** Sequences whose blocks are in the swap pool. */
    public int numSwappedSequences() { return swappedTables.size(); }

    public boolean isSwapped(String seqId) { return swappedTables.containsKey(seqId); }

    /** Distinct device blocks the sequences hold together (what swapping them out moves). */
    public int numDistinctBlocks(Collection<String> seqIds) {
        return distinct(seqIds, tables).size();
    }

    /** Distinct swap blocks the swapped-out sequences hold together (what swapping them in needs). */
    public int numBlocksToSwapIn(Collection<String> seqIds) {
        return distinct(seqIds, swappedTables).size();
    }

    private static Map<KvCacheBlock, Integer> distinct(Collection<String> seqIds, Map<String, Table> from) {
        Map<KvCacheBlock, Integer> refs = new IdentityHashMap<>();
        for (String id : seqIds) {
            Table t = from.get(id);
            if (t == null) continue;
            for (KvCacheBlock b : held(t.blocks)) refs.merge(b, 1, Integer::sum);
        }
        return refs;
    }

    /**
     * Moves the sequences' blocks to the swap pool, each distinct block once (blocks they share
     * stay shared there). Their device references are dropped: a block also used by another
     * sequence stays on the device for it. False, changing nothing, when the swap pool has too
     * few free blocks.
     */
    public boolean swapOut(List<String> seqIds) {
        Map<KvCacheBlock, Integer> refs = new LinkedHashMap<>();
        for (String id : seqIds) {
            if (swappedTables.containsKey(id)) {
                throw new IllegalStateException("cannot swap out " + id + ": it is swapped out already");
            }
            Table t = tables.get(id);
            if (t == null) continue; // nothing computed yet: an empty table goes to the swap side
            for (KvCacheBlock b : held(t.blocks)) refs.merge(b, 1, Integer::sum);
        }
        if (swapPool == null || refs.size() > swapPool.numFreeBlocks()) return false;
        Map<KvCacheBlock, KvCacheBlock> hostOf = new IdentityHashMap<>();
        List<KvCacheBlock> hostBlocks = swapPool.allocate(refs.size());
        int k = 0;
        for (Map.Entry<KvCacheBlock, Integer> e : refs.entrySet()) {
            KvCacheBlock dev = e.getKey(), host = hostBlocks.get(k++);
            for (int i = 1; i < e.getValue(); i++) swapPool.share(host);
            swapHashes[host.blockId()] = dev.hash();
            hostOf.put(dev, host);
            ops.add(new BlockOp(BlockOp.Kind.SWAP_OUT, dev.blockId(), host.blockId()));
        }
        for (String id : seqIds) {
            Table t = tables.remove(id);
            if (t == null) t = new Table();
            Table s = new Table();
            for (KvCacheBlock b : t.blocks) s.blocks.add(b == null ? null : hostOf.get(b));
            s.hashes.addAll(t.hashes);
            s.firstHeld = t.firstHeld;
            swappedTables.put(id, s);
            pool.free(held(t.blocks.reversed()));
        }
        return true;
    }

    /**
     * Brings swapped-out sequences back into fresh device blocks (shared blocks once). False,
     * changing nothing, when the device has fewer than {@link #numBlocksToSwapIn} free blocks.
     * A block whose content is still cached on the device keeps its hash.
     */
    public boolean swapIn(List<String> seqIds) {
        Map<KvCacheBlock, Integer> refs = new LinkedHashMap<>();
        for (String id : seqIds) {
            Table t = swappedTables.get(id);
            if (t == null) throw new IllegalStateException("cannot swap in " + id + ": it is not swapped out");
            for (KvCacheBlock b : held(t.blocks)) refs.merge(b, 1, Integer::sum);
        }
        if (refs.size() > pool.numFreeBlocks()) return false;
        Map<KvCacheBlock, KvCacheBlock> devOf = new IdentityHashMap<>();
        List<KvCacheBlock> devBlocks = pool.allocate(refs.size());
        int k = 0;
        for (Map.Entry<KvCacheBlock, Integer> e : refs.entrySet()) {
            KvCacheBlock host = e.getKey(), dev = devBlocks.get(k++);
            for (int i = 1; i < e.getValue(); i++) pool.share(dev);
            BlockHash h = swapHashes[host.blockId()];
            if (h != null) pool.cache(dev, h);
            devOf.put(host, dev);
            ops.add(new BlockOp(BlockOp.Kind.SWAP_IN, host.blockId(), dev.blockId()));
        }
        for (String id : seqIds) {
            Table s = swappedTables.remove(id);
            Table t = new Table();
            for (KvCacheBlock b : s.blocks) t.blocks.add(b == null ? null : devOf.get(b));
            t.hashes.addAll(s.hashes);
            t.firstHeld = s.firstHeld;
            tables.put(id, t);
            for (KvCacheBlock b : held(s.blocks.reversed())) {
                swapPool.free(List.of(b));
                if (b.refCount() == 0) swapHashes[b.blockId()] = null;
            }
        }
        return true;
    }

    /** The blocks of a table that are held (not freed by the sliding window). */
    private static List<KvCacheBlock> held(List<KvCacheBlock> blocks) {
        return blocks.stream().filter(java.util.Objects::nonNull).toList();
    }

    /** The data movements decided since the last call, in order: to perform before the next forward pass. */
    public List<BlockOp> takeBlockOps() {
        List<BlockOp> out = List.copyOf(ops);
        ops.clear();
        return out;
    }

    /**
     * A memory report of every device block table (see {@link KvMemoryReport}).
     *
     * @param tokensStored the tokens whose KV a sequence has in the cache, or a negative number when
     *                     the caller does not know (its blocks then count as full)
     * @param ownerOf      the request a sequence belongs to
     */
    public KvMemoryReport report(long step, long bytesPerBlock, ToIntFunction<String> tokensStored,
                                 UnaryOperator<String> ownerOf) {
        List<KvMemoryReport.SequenceBlocks> seqs = new ArrayList<>(tables.size());
        for (var e : tables.entrySet()) {
            int n = tokensStored.applyAsInt(e.getKey());
            List<KvCacheBlock> blocks = e.getValue().blocks;
            int stored = n < 0 ? blocks.size() * blockSize : n;
            seqs.add(new KvMemoryReport.SequenceBlocks(e.getKey(), ownerOf.apply(e.getKey()), stored, blocks));
        }
        KvMemoryReport r = KvMemoryReport.build(step, blockSize, bytesPerBlock, pool.numTotalBlocks(),
                pool.numFreeBlocks(), seqs).withCacheAndSwap(pool.numCachedBlocks(), pool.hashedBlocks(), numSwapBlocks(),
                numSwapBlocks() - numFreeSwapBlocks(), swappedTables.size());
        return window.isNone() ? r
                : r.withWindow(SlidingWindowReport.of(window, numWindowFreedBlocks, seqs, blockSize, bytesPerBlock));
    }

    /** As {@link #report(long, long, ToIntFunction, UnaryOperator)}, each sequence its own owner. */
    public KvMemoryReport report(long step, long bytesPerBlock, ToIntFunction<String> tokensStored) {
        return report(step, bytesPerBlock, tokensStored, id -> id);
    }
}
