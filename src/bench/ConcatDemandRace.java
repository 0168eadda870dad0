import org.reactivestreams.Subscription;
import reactor.core.CoreSubscriber;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * The race behind the stuck streams that io.quire.api.Sse avoids, in Reactor Core alone: a fresh
 * {@code Flux.concat(Mono.just(1), Mono.just(2))} is requested 123 by this thread and 1 by another at
 * the same moment. Now and then it emits 1 and never 2 nor completes: the request of 123 read the
 * demand (0) and the first Mono's subscription, the request of 1 then took the first item and moved
 * the concat to the second Mono (whose activation found demand 0), and the 123 still went through,
 * its compare-and-set seeing the same 0, to the finished first Mono. Run by concat-race.sh.
 */
public class ConcatDemandRace {
    static volatile Subscription concat;
    static volatile int round, answered;

    public static void main(String[] args) {
        long seconds = args.length > 0 ? Long.parseLong(args[0]) : 30;
        int[] seen = new int[2];  // items received, completed
        Thread other = new Thread(() -> {
            for (int done = 0; ; ) {
                int r;
                while ((r = round) == done) Thread.onSpinWait();
                done = r;
                concat.request(1);
                answered = r;
            }
        });
        other.setDaemon(true);
        other.start();
        long stuck = 0, trials = 0, end = System.nanoTime() + seconds * 1_000_000_000L;
        while (System.nanoTime() < end) {
            for (int k = 0; k < 1000; k++, trials++) {
                synchronized (seen) {
                    seen[0] = 0;
                    seen[1] = 0;
                }
                Flux.concat(Mono.just(1), Mono.just(2)).subscribe(new CoreSubscriber<Integer>() {
                    public void onSubscribe(Subscription s) { concat = s; }
                    public void onNext(Integer v) { synchronized (seen) { seen[0]++; } }
                    public void onError(Throwable e) { e.printStackTrace(); }
                    public void onComplete() { synchronized (seen) { seen[1] = 1; } }
                });
                int r = round + 1;
                round = r;
                concat.request(123);
                while (answered != r) Thread.onSpinWait();
                synchronized (seen) {
                    if (seen[1] == 0 && ++stuck <= 3) {
                        System.out.println("trial " + trials + ": " + seen[0] + " item(s), never completed");
                    }
                }
            }
        }
        System.out.println(stuck + " of " + trials + " concats never completed");
    }
}
