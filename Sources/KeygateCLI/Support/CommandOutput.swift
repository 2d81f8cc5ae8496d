import ArgumentParser

/// How `scan`, `import` and `status` print what they found: `--format`.
enum OutputFormat: String, ExpressibleByArgument {
    /// Aligned columns, for a person.
    case table
    /// One JSON value, for a pipeline.
    case json
}

extension ExitCode {
    /// Status 2: the operator commands (`scan`, `import`, `backup`,
    /// `restore`, `status`, `migrate`) could not do their work (a usage, I/O or
    /// storage error), as a CI job, hook or backup script expects; 1 means
    /// something else to them (live keys found, keys refused, a split).
    static let operationFailed = ExitCode(2)
}
