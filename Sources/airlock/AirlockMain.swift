import AirlockGateway
import ArgumentParser
import Dispatch
import Foundation
import NIOCore
import NIOPosix

/// Entry point. Before any async code runs, Swift concurrency is put on NIO's event loops
/// (`ConcurrencyOnEventLoops`), so a request's handler, its provider call and the response
/// stay on the same threads instead of hopping between the global executor and the event
/// loops on every await.
@main
enum AirlockMain {
    static func main() {
        do {
            try EventLoopSizing.configure()
        } catch {
            FileHandle.standardError.write(Data("error: \(error.message)\n".utf8))
            exit(64)
        }
        switch ProcessInfo.processInfo.environment["AIRLOCK_NIO_EXECUTOR"] {
        case "0": break
        case "nio": NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor()
        default: ConcurrencyOnEventLoops.install()
        }
        Task {
            await Airlock.main()
            exit(0)
        }
        dispatchMain()
    }
}
