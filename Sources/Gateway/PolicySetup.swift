// Maps the gateway configuration onto the policy engine's configuration.
import MailCore
import Policy

extension GatewayConfiguration {
    public var policyConfiguration: PolicyConfiguration {
        var configuration = PolicyConfiguration(
            directory: policyDirectory, pluginDirectory: pluginDirectory, chain: policyChain,
            settings: policySettings,
            globals: [
                "hostname": .string(hostname),
                "max_message_size": .integer(limits.maxMessageSize),
                "max_recipients": .integer(limits.maxRecipients),
                "queue_lifetime": .integer(Int(limits.queueLifetime.seconds)),
            ],
            instructionBudget: limits.policyInstructionBudget,
            memoryLimit: limits.policyMemoryLimit,
            vmCount: limits.policyVMs,
            deadline: policyDeadline)
        configuration.shadow = policyShadow
        configuration.maxHostWaits = policyDNSLookups
        configuration.dnsTimeout = policyDNSTimeout
        configuration.httpTimeout = policyHTTPTimeout
        configuration.bodySizeLimit = limits.policyBodySize
        return configuration
    }
}
