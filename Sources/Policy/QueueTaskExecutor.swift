// Where the native engines' async work (SPF, DKIM, DMARC evaluations started by a
// hook call) runs: a serial dispatch queue of the VM's own, never Swift's global
// cooperative pool. Threads that block in PolicyEngine.run (the pool, the CLI, tests)
// would otherwise take that pool's few threads and leave the evaluations they wait
// for without one until the call's deadline.
import Dispatch

final class QueueTaskExecutor: TaskExecutor, @unchecked Sendable {
    let queue: DispatchQueue

    init(label: String) { queue = DispatchQueue(label: label) }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        queue.async { job.runSynchronously(on: self.asUnownedTaskExecutor()) }
    }
}
