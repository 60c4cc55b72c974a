// Where the native engines' async work (SPF, DKIM, DMARC, ARC evaluations started by a
// hook call) runs: on the thread that makes it runnable, never on Swift's global
// cooperative pool. Started from a host function, an evaluation whose DNS answers are
// all cached runs to its end before the host function returns, so the hook call goes on
// without parking (no thread hop, no VM hand-over); one that waits for a lookup goes on
// in the resolver's completion, on the resolver's event loop. Threads blocked in
// PolicyEngine.run (the pool, the CLI, tests) can thus never starve an evaluation, as
// they could the cooperative pool's two threads here.
//
// Jobs made runnable while this thread is already running one (a task group's child
// tasks, a continuation resumed from inside a job) are queued and run after it, in
// order, never nested.
import Foundation

final class InlineTaskExecutor: TaskExecutor, @unchecked Sendable {
    static let shared = InlineTaskExecutor()

    /// The jobs waiting on this thread while it runs one.
    private final class Trampoline {
        var jobs: [UnownedJob] = []
        var running = false
    }

    private static let key: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key) { pointer in
            guard let pointer else { return }
            Unmanaged<AnyObject>.fromOpaque(pointer).release()
        }
        return key
    }()

    private static var trampoline: Trampoline {
        if let pointer = pthread_getspecific(key) {
            return Unmanaged<Trampoline>.fromOpaque(pointer).takeUnretainedValue()
        }
        let trampoline = Trampoline()
        pthread_setspecific(key, Unmanaged.passRetained(trampoline).toOpaque())
        return trampoline
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        let trampoline = Self.trampoline
        trampoline.jobs.append(job)
        guard !trampoline.running else { return }
        trampoline.running = true
        var next = 0
        while next < trampoline.jobs.count {
            let job = trampoline.jobs[next]
            next += 1
            job.runSynchronously(on: asUnownedTaskExecutor())
        }
        trampoline.jobs.removeAll(keepingCapacity: true)
        trampoline.running = false
    }
}
