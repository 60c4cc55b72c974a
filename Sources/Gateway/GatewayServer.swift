// `mailgate serve`: opens the store, loads the policy chain and TLS, binds every
// configured listener, and runs until SIGTERM/SIGINT (graceful) while SIGHUP reloads
// policy, config and certificates without dropping a connection.
import Delivery
import Dispatch
import Foundation
import IMAP
import Logging
import MailCore
import MailStore
import NIOCore
import NIOPosix
import NIOSSL
import POP3
import Policy
import SMTP

public enum ServerSignals {
    /// Must run first thing in `main`, before any thread exists, or signals get lost.
    public static func block() {
        var set = sigset_t()
        sigemptyset(&set)
        for signal in [SIGHUP, SIGTERM, SIGINT] { sigaddset(&set, signal) }
        pthread_sigmask(SIG_BLOCK, &set, nil)
        signal(SIGPIPE, SIG_IGN)
    }

    /// For every command but `serve`: SIGTERM and SIGINT (Ctrl-C) end the process again.
    /// `block()` runs before the command is known, and an admin command that waits (on
    /// standard input, on the store's lock, for a reload) must stay killable.
    public static func unblockForCommand() {
        var set = sigset_t()
        sigemptyset(&set)
        for signal in [SIGHUP, SIGTERM, SIGINT] { sigaddset(&set, signal) }
        pthread_sigmask(SIG_UNBLOCK, &set, nil)
    }
}

public final class GatewayServer: @unchecked Sendable {
    // @unchecked: mutable fields are touched only on `controlQueue` (and by `start`
    // before any signal source exists).
    /// The file the configuration was read from (nil: built-in defaults). A reload reads
    /// the file the CLI would pick now: `--config`, or else `mailgate.toml` in the
    /// directory the server was started from, so a file created after a start on the
    /// defaults is found.
    var configurationFile: String?
    let explicitConfigurationFile: Bool
    /// `--data-dir` overrides the file's data_dir, at start and on every reload.
    let dataDirectoryOverridden: Bool
    let startDirectory: String
    var configuration: GatewayConfiguration
    let logger: Logger
    let controlQueue = DispatchQueue(label: "mailgate.control")
    var context: ServerContext!
    var group: MultiThreadedEventLoopGroup!
    var serverChannels: [(ListenerKind, Channel)] = []
    var signalSources: [DispatchSourceSignal] = []
    var status: ServerStatus!
    var pidFile: PidFile?
    let finished = DispatchSemaphore(value: 0)
    var shuttingDown = false

    /// `explicitFile`: the file was named with `--config` (a reload then never falls back
    /// to ./mailgate.toml or the defaults).
    public init(configuration: GatewayConfiguration, configurationFile: String?, explicitFile: Bool = false,
                dataDirectoryOverridden: Bool = false, logger: Logger) {
        self.configuration = configuration
        self.configurationFile = configurationFile.map { URL(fileURLWithPath: $0).standardizedFileURL.path }
        self.explicitConfigurationFile = explicitFile
        self.dataDirectoryOverridden = dataDirectoryOverridden
        self.startDirectory = FileManager.default.currentDirectoryPath
        self.logger = logger
    }

    /// Starts everything; throws one sentence naming the key, file or port and what to do
    /// when something cannot start. A failed start leaves nothing behind: listeners
    /// closed, store closed, pid file removed.
    public func start() throws {
        var store: LMDBStore?
        var threadPool: NIOThreadPool?
        do {
            try startServing(store: &store, threadPool: &threadPool)
        } catch {
            for (_, channel) in serverChannels { try? channel.close().wait() }
            serverChannels = []
            try? group?.syncShutdownGracefully()
            group = nil
            try? threadPool?.syncShutdownGracefully()
            store?.close()
            pidFile?.release()
            pidFile = nil
            throw error
        }
    }

    private func startServing(store openedStore: inout LMDBStore?, threadPool openedPool: inout NIOThreadPool?) throws {
        let directory = configuration.dataDirectory
        do { try LMDBStore.prepareDirectory(directory) }
        catch { throw ConfigurationError(key: "data_dir", reason: error.message) }
        pidFile = try PidFile(dataDirectory: directory)
        let store: LMDBStore
        do { store = try LMDBStore(directory: directory) }
        catch { throw ConfigurationError(key: "data_dir", reason: error.message) }
        openedStore = store
        // IMAP store work and SMTP/POP3 deliveries wait on this pool for their group commit
        // (LMDBStore.write blocks its thread until the fsync): with a handful of threads a
        // batch holds at most that many writes, and reads queue behind the waiting writes.
        // Waiting threads cost a stack each and no CPU.
        let threadPool = NIOThreadPool(numberOfThreads: max(64, configuration.limits.policyVMs + 2))
        threadPool.start()
        openedPool = threadPool
        group = MultiThreadedEventLoopGroup(numberOfThreads: configuration.effectiveEventLoops)
        // One resolver for the server (Lua's mailgate.dns and the queue runner), on one loop.
        let dnsConfiguration = DNSResolver.configuration(nameserver: configuration.nameserver.map {
            .init(host: $0.host, port: $0.port)
        })
        let dns = DNSResolver(configuration: dnsConfiguration, eventLoop: group.next())
        logger.info("dns resolver", metadata: ["nameservers": "\(dnsConfiguration.nameservers.map(\.description).joined(separator: " "))"])
        // DMARC's organizational domains; read now rather than by the first message.
        if let problem = PublicSuffixes.reload() {
            logger.warning("public suffix list unavailable, DMARC takes the last two labels as the organizational domain: \(problem)")
        }
        let host = StorePolicyHost(store: store, logger: logger, dns: dns, http: HTTPClient(group: group),
                                   dmarc: configuration.dmarc)
        let policy: PolicyEngine
        do { policy = try PolicyEngine(configuration: configuration.policyConfiguration, host: host) }
        catch { throw ConfigurationError(key: "policy", reason: "\(error)") }
        let tls = try TLSSetup.load(configuration)
        logCertificate(tls)
        context = ServerContext(configuration: configuration, store: store, policy: policy, tls: tls,
                                threadPool: threadPool, dns: dns, logger: logger)
        for kind in [ListenerKind.smtp, .submission, .smtps, .pop3, .pop3s, .imap, .imaps] {
            for address in configuration.listeners[kind] ?? [] {
                do {
                    let channel = try bootstrap(kind).bind(host: address.host, port: address.port).wait()
                    serverChannels.append((kind, channel))
                    logger.info("listening", metadata: ["listener": "\(kind.rawValue)", "address": "\(address)"])
                } catch {
                    throw ConfigurationError(key: "listen.\(kind.rawValue)",
                                             reason: Self.listenFailure(error, address: address))
                }
            }
        }
        let watchers = context.mailboxWatchers
        store.observeMailboxChanges { mailboxes in watchers.notify(mailboxes) }
        let policyStatus = policy.status
        status = ServerStatus(
            pid: getpid(), startedAt: Date().timeIntervalSince1970, hostname: configuration.hostname,
            configFile: configurationFile,
            listeners: serverChannels.map { "\($0.0.rawValue) \(Self.display($0.1.localAddress))" },
            policyGeneration: policyStatus.generation, policyLoadedAt: policyStatus.loadedAt.timeIntervalSince1970,
            policies: policyStatus.policies, lastReloadError: nil, lastReloadAt: nil, reloadCount: 0,
            tlsCertificate: tls.certificatePath, tlsSelfSigned: tls.selfSigned, connections: 0,
            updatedAt: Date().timeIntervalSince1970)
        try status.writeOrThrow(dataDirectory: directory)
        installSignalHandlers()
        scheduleHousekeeping()
        let runner = QueueRunner(context: context, group: group)
        queueRunner = runner
        context.queueRunner.withLockedValue { $0 = runner }
        runner.start()
        dmarcReports = DMARCReportScheduler(context: context, recorder: host.dmarcReportStore)
        dmarcReports?.start()
        logger.info("mailgate started", metadata: ["hostname": "\(configuration.hostname)",
                                                   "event_loops": "\(configuration.effectiveEventLoops)",
                                                   "data_dir": "\(configuration.dataDirectory)",
                                                   "config": "\(configurationFile ?? "built-in defaults")",
                                                   "policies": "\(policyStatus.policies.joined(separator: ","))"])
    }

    /// Says where a self-signed certificate is and how to use a real one: clients warn
    /// about it, and an operator should know it was made.
    func logCertificate(_ tls: TLSSetup.Material) {
        guard tls.selfSigned else { return }
        let text = tls.generated ? "generated a self-signed TLS certificate" : "using the self-signed TLS certificate"
        logger.notice("""
            \(text) \(tls.certificatePath) (key \(tls.keyPath)); clients will warn about it: set [tls] \
            certificate and private_key in mailgate.toml to your own PEM files, then run `mailgate reload`
            """, metadata: ["hostname": "\(configuration.hostname)"])
    }

    /// "127.0.0.1:2525", "[::1]:2525": what `status` shows for a listener.
    static func display(_ address: SocketAddress?) -> String {
        guard let address, let ip = address.ipAddress, let port = address.port else { return "?" }
        return ip.contains(":") ? "[\(ip)]:\(port)" : "\(ip):\(port)"
    }

    /// One sentence for a listener that cannot be bound: which address and port, why, and
    /// what to do.
    static func listenFailure(_ error: Error, address: ListenAddress) -> String {
        let code: Int32? = (error as? IOError)?.errnoCode
        switch code {
        case EADDRINUSE:
            return "\(address) is already in use (another mailgate or mail server listens there): "
                + "stop that program or choose another port"
        case EACCES, EPERM:
            return "not allowed to listen on \(address): ports below 1024 need root or the "
                + "CAP_NET_BIND_SERVICE capability, or choose a port above 1023"
        case EADDRNOTAVAIL:
            return "\(address.host) is not an address of this machine: listen on one of its addresses, "
                + "127.0.0.1 or 0.0.0.0"
        case .some(let code):
            return "cannot listen on \(address) (\(LMDBStore.errorText(code))): check the address and port"
        case nil:
            return "cannot listen on \(address) (\(error)): check the address and port"
        }
    }

    /// Blocks until a graceful shutdown has completed.
    public func wait() {
        finished.wait()
    }

    func bootstrap(_ kind: ListenerKind) -> ServerBootstrap {
        let context = self.context!
        return ServerBootstrap(group: group)
            .serverChannelOption(ChannelOptions.backlog, value: 512)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                Self.initialize(channel, kind: kind, context: context)
            }
    }

    /// The accepted socket's options, set synchronously: as bootstrap child options each
    /// one went through a chain of futures (~3 % of an SMTP profile at one connection
    /// per message).
    static func setChildOptions(_ channel: Channel) throws {
        guard let options = channel.syncOptions else { return }
        try options.setOption(ChannelOptions.socketOption(.tcp_nodelay), value: 1)
        try options.setOption(ChannelOptions.maxMessagesPerRead, value: 4)
        // A message body arrives in one or two reads instead of five or more: NIO's
        // default first read of 2 KB only grows within a connection, and SMTP clients
        // often send one message per connection. Buffers live only during a read.
        try options.setOption(ChannelOptions.recvAllocator,
                              value: AdaptiveRecvByteBufferAllocator(minimum: 64, initial: 16384, maximum: 65536))
    }

    static func initialize(_ channel: Channel, kind: ListenerKind, context: ServerContext) -> EventLoopFuture<Void> {
        do { try setChildOptions(channel) } catch { return channel.eventLoop.makeFailedFuture(error) }
        let configuration = context.configuration
        let remote = channel.remoteAddress
        let clientAddress = remote.flatMap(peerAddress)
        let clientIP = clientAddress?.description ?? "unknown"
        let admitted = context.connections.withLockedValue {
            $0.admit(ip: clientIP, channel: channel, limits: configuration.limits)
        }
        guard admitted else {
            context.logger.notice("connection refused: limit reached", metadata: ["client": "\(clientIP)",
                                                                                  "listener": "\(kind.rawValue)"])
            let refusal = kind.isPOP3
                ? POP3Reply.error("Too many connections, try again later", code: POP3ResponseCode.systemTemporary).wire
                : kind.isIMAP ? "* BYE [UNAVAILABLE] Too many connections, try again later\r\n"
                : Reply(421, "4.7.0", "\(configuration.hostname) Too many connections, try again later").wire
            do {
                try channel.pipeline.syncOperations.addHandler(RefuseConnectionHandler(reply: refusal))
                return channel.eventLoop.makeSucceededVoidFuture()
            } catch {
                return channel.eventLoop.makeFailedFuture(error)
            }
        }
        channel.closeFuture.whenComplete { _ in
            context.connections.withLockedValue { $0.release(ip: clientIP, channel: channel) }
        }
        let isLoopback = clientAddress.map { IPNetwork.anyContains(loopbackNetworks, $0) } ?? false
        let info = SessionInfo(id: context.makeQueueID(), protocolName: kind.protocolName,
                               listener: kind.rawValue, clientIP: clientIP,
                               clientPort: remote?.port ?? 0)
        let handler: ChannelHandler = if kind.isPOP3 {
            pop3Handler(kind: kind, info: info, isLoopback: isLoopback, context: context)
        } else if kind.isIMAP {
            imapHandler(kind: kind, info: info, isLoopback: isLoopback, context: context)
        } else {
            smtpHandler(kind: kind, info: info, isLoopback: isLoopback, context: context)
        }
        do {
            if kind.implicitTLS {
                guard let tls = context.tls else { return channel.close() }
                try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: tls.context))
            }
            try channel.pipeline.syncOperations.addHandler(handler)
            return channel.eventLoop.makeSucceededVoidFuture()
        } catch {
            return channel.eventLoop.makeFailedFuture(error)
        }
    }

    static func smtpHandler(kind: ListenerKind, info: SessionInfo, isLoopback: Bool,
                            context: ServerContext) -> SMTPServerHandler {
        let configuration = context.configuration
        let smtpKind: SMTPListenerKind = switch kind {
        case .submission: .submission
        case .smtps: .smtps
        default: .mx
        }
        let sessionConfiguration = SMTPSessionConfiguration(
            hostname: configuration.hostname, kind: smtpKind, limits: configuration.limits,
            tlsAvailable: context.tls != nil, plaintextAuthAllowed: isLoopback || configuration.allowPlaintextAuth,
            postmasterDomain: cachedPostmasterDomain(context),
            clock: { Date().timeIntervalSince1970 },
            makeQueueID: { context.makeQueueID() },
            makeChallenge: { "<\(UInt64.random(in: 1...UInt64.max)).\(Int(Date().timeIntervalSince1970))@\(configuration.hostname)>" })
        return SMTPServerHandler(server: context, session: SMTPSession(configuration: sessionConfiguration, session: info),
                                 clientIP: info.clientIP)
    }

    static func pop3Handler(kind: ListenerKind, info: SessionInfo, isLoopback: Bool,
                            context: ServerContext) -> POP3ServerHandler {
        let configuration = context.configuration
        let hostname = configuration.hostname
        let pid = getpid()
        let sessionConfiguration = POP3SessionConfiguration(
            hostname: hostname, limits: configuration.limits, tlsAvailable: context.tls != nil,
            implicitTLS: kind.implicitTLS, plaintextAuthAllowed: isLoopback || configuration.allowPlaintextAuth,
            loginDelay: configuration.pop3LoginDelay,
            makeTimestamp: {
                POP3SessionConfiguration.apopTimestamp(pid: pid, sequence: context.sequence.next(),
                                                       clock: Date().timeIntervalSince1970, hostname: hostname)
            },
            makeChallenge: { "<\(UInt64.random(in: 1...UInt64.max)).\(Int(Date().timeIntervalSince1970))@\(hostname)>" })
        return POP3ServerHandler(server: context, session: POP3Session(configuration: sessionConfiguration, session: info),
                                 clientIP: info.clientIP)
    }

    static func imapHandler(kind: ListenerKind, info: SessionInfo, isLoopback: Bool,
                            context: ServerContext) -> IMAPServerHandler {
        let configuration = context.configuration
        let hostname = configuration.hostname
        let sessionConfiguration = IMAPSessionConfiguration(
            hostname: hostname, limits: configuration.limits, tlsAvailable: context.tls != nil,
            implicitTLS: kind.implicitTLS, plaintextAuthAllowed: isLoopback || configuration.allowPlaintextAuth,
            makeChallenge: { "<\(UInt64.random(in: 1...UInt64.max)).\(Int(Date().timeIntervalSince1970))@\(hostname)>" },
            zoneMinutes: TimeZone.current.secondsFromGMT() / 60,
            serverID: [IDField("name", "mailgate")])
        return IMAPServerHandler(server: context, session: IMAPSession(configuration: sessionConfiguration, session: info),
                                 clientIP: info.clientIP)
    }

    /// The domain of the bare `<postmaster>` recipient (RFC 5321 §4.5.1): the hostname
    /// or its parent when local, else the first local domain.
    /// `postmasterDomain`, recomputed at most every 10 seconds.
    static func cachedPostmasterDomain(_ context: ServerContext) -> String {
        let now = Date().timeIntervalSince1970
        if let cached = context.postmasterCache.withLockedValue({ $0 }), now - cached.at < 10 { return cached.domain }
        let domain = postmasterDomain(context.configuration.hostname, store: context.store)
        context.postmasterCache.withLockedValue { $0 = (domain, now) }
        return domain
    }

    static func postmasterDomain(_ hostname: String, store: LMDBStore) -> String {
        let host = hostname.lowercased()
        if store.domainExists(host) { return host }
        if let dot = host.firstIndex(of: "."), store.domainExists(String(host[host.index(after: dot)...])) {
            return String(host[host.index(after: dot)...])
        }
        return (try? store.domains().first) ?? host
    }

    /// The peer's IP from the socket address bytes (no text round trip per connection).
    static func peerAddress(_ address: SocketAddress) -> IPAddress? {
        switch address {
        case .v4(let v4):
            let raw = v4.address.sin_addr.s_addr  // network order in memory
            return withUnsafeBytes(of: raw) { IPAddress(socketBytes: Array($0)) }
        case .v6(let v6):
            return withUnsafeBytes(of: v6.address.sin6_addr) { IPAddress(socketBytes: Array($0)) }
        case .unixDomainSocket:
            return nil
        }
    }

    static let loopbackNetworks = [IPNetwork("127.0.0.0/8")!, IPNetwork("::1/128")!]

    // MARK: signals, reload, shutdown

    func installSignalHandlers() {
        for signalNumber in [SIGHUP, SIGTERM, SIGINT] {
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: controlQueue)
            source.setEventHandler { [self] in
                if signalNumber == SIGHUP { reload() } else { shutdown() }
            }
            source.resume()
            signalSources.append(source)
        }
    }

    /// Shadow policy figures for `mailgate status` (nil while none ran).
    func recordShadowCounts() {
        let policyStatus = context.policy.status
        let running = !policyStatus.shadow.isEmpty || policyStatus.shadowCalls > 0
        status.shadowPolicies = running ? policyStatus.shadow : nil
        status.shadowDisagreements = running ? policyStatus.shadowDisagreements : nil
        status.shadowCalls = running ? policyStatus.shadowCalls : nil
    }

    func scheduleHousekeeping() {
        let timer = DispatchSource.makeTimerSource(queue: controlQueue)
        timer.schedule(deadline: .now() + 5, repeating: 5)
        timer.setEventHandler { [self] in
            guard !shuttingDown else { return }
            status.connections = context.connections.withLockedValue { $0.total }
            recordShadowCounts()
            status.updatedAt = Date().timeIntervalSince1970
            status.write(dataDirectory: configuration.dataDirectory)
        }
        timer.resume()
        housekeeping = timer
        let purge = DispatchSource.makeTimerSource(queue: DispatchQueue.global())
        purge.schedule(deadline: .now() + 1, repeating: 60)
        purge.setEventHandler { [context] in
            guard let context else { return }
            _ = context.store.readerCheck()
            _ = try? context.store.purgeExpiredWhitelist(now: Date().timeIntervalSince1970)
            _ = try? context.store.purgeExpiredKeyValues(now: Date().timeIntervalSince1970)
        }
        purge.resume()
        purgeTimer = purge
    }
    var housekeeping: DispatchSourceTimer?
    var queueRunner: QueueRunner?
    var purgeTimer: DispatchSourceTimer?
    var dmarcReports: DMARCReportScheduler?

    /// SIGHUP: re-read the config file, recompile the policy chain, reload TLS. All or nothing.
    func reload() {
        logger.info("reload requested")
        status.lastReloadAt = Date().timeIntervalSince1970
        status.reloadCount += 1
        do {
            let file = currentConfigurationFile()
            var fresh = GatewayConfiguration.defaults(baseDirectory: startDirectory)
            if let file {
                try ConfigurationSyntaxCheck.check(path: file)
                fresh = try GatewayConfiguration.load(path: file)
            }
            // Listeners, the data directory and the event loops need a restart; keep
            // the running ones, and say so when the file asks for others.
            var needRestart: [String] = []
            if fresh.listeners != configuration.listeners { needRestart.append("listen") }
            if !dataDirectoryOverridden && fresh.dataDirectory != configuration.dataDirectory {
                needRestart.append("data_dir")
            }
            if fresh.eventLoops != configuration.eventLoops { needRestart.append("event_loops") }
            fresh.listeners = configuration.listeners
            fresh.dataDirectory = configuration.dataDirectory
            fresh.eventLoops = configuration.eventLoops
            let tls = try TLSSetup.load(fresh)
            try context.policy.reload(fresh.policyConfiguration)
            if let problem = PublicSuffixes.reload() {
                logger.warning("public suffix list not reloaded, the previous one stays: \(problem)")
            }
            context.update(configuration: fresh, tls: tls)
            context.dkimKeys.invalidate()
            dmarcReports?.reloaded(fresh)
            configuration = fresh
            configurationFile = file
            logCertificate(tls)
            let policyStatus = context.policy.status
            status.configFile = file
            status.restartNeeded = needRestart.isEmpty ? nil : needRestart
            status.hostname = fresh.hostname
            status.policyGeneration = policyStatus.generation
            status.policyLoadedAt = policyStatus.loadedAt.timeIntervalSince1970
            status.policies = policyStatus.policies
            recordShadowCounts()
            status.tlsCertificate = tls.certificatePath
            status.tlsSelfSigned = tls.selfSigned
            status.lastReloadError = nil
            if !needRestart.isEmpty {
                logger.warning("\(needRestart.joined(separator: ", ")) changed in \(file ?? "the configuration"): restart the server to apply")
            }
            logger.info("reload complete", metadata: ["generation": "\(policyStatus.generation)",
                                                      "config": "\(file ?? "built-in defaults")"])
        } catch {
            status.lastReloadError = "\(error)"
            logger.error("reload failed, keeping the running configuration", metadata: ["error": "\(error)"])
        }
        status.updatedAt = Date().timeIntervalSince1970
        status.write(dataDirectory: configuration.dataDirectory)
    }

    /// The file a reload reads: the `--config` file, else `mailgate.toml` in the start
    /// directory if it exists now, else nil (built-in defaults).
    func currentConfigurationFile() -> String? {
        if explicitConfigurationFile { return configurationFile }
        let candidate = URL(fileURLWithPath: "mailgate.toml",
                            relativeTo: URL(fileURLWithPath: startDirectory, isDirectory: true)).standardizedFileURL.path
        return FileManager.default.fileExists(atPath: candidate) ? candidate : nil
    }

    /// SIGTERM/SIGINT: stop accepting, let transactions finish (up to the grace period),
    /// tell idle sessions 421 4.3.2, close the store, and let `wait()` return.
    func shutdown() {
        guard !shuttingDown else { return }
        shuttingDown = true
        logger.info("shutting down")
        queueRunner?.stopStarting()
        dmarcReports?.stop()
        for (_, channel) in serverChannels { channel.close(promise: nil) }
        let channels = context.connections.withLockedValue { Array($0.channels.values) }
        for channel in channels {
            channel.pipeline.fireUserInboundEventTriggered(SMTPServerHandler.ShutdownEvent())
        }
        let deadline = Date().addingTimeInterval(configuration.limits.shutdownGrace.seconds)
        while Date() < deadline && context.connections.withLockedValue({ $0.total }) > 0 {
            usleep(50_000)
        }
        for channel in context.connections.withLockedValue({ Array($0.channels.values) }) {
            channel.close(promise: nil)
        }
        // Outbound deliveries in flight get the same grace; what is left stays queued.
        queueRunner?.stop(grace: .seconds(max(1, deadline.timeIntervalSinceNow)))
        housekeeping?.cancel()
        purgeTimer?.cancel()
        try? group.syncShutdownGracefully()
        try? context.threadPool.syncShutdownGracefully()
        context.store.close()
        pidFile?.release()
        try? FileManager.default.removeItem(atPath: ServerStatus.path(dataDirectory: configuration.dataDirectory))
        logger.info("stopped")
        finished.signal()
    }
}
