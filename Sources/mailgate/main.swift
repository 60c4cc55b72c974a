// The `mailgate` executable: argument parsing only; the work lives in Gateway.
import Foundation
import Gateway

// A child asked to try parsing a configuration file (see ConfigurationSyntaxCheck).
if CommandLine.arguments.count == 3, CommandLine.arguments[1] == ConfigurationSyntaxCheck.childArgument {
    exit(ConfigurationSyntaxCheck.runChild(path: CommandLine.arguments[2]))
}

// Before any thread exists: SIGHUP/SIGTERM are then read by dispatch sources.
ServerSignals.block()
Mailgate.main()
