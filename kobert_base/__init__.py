"""The ground every other part stands on, importing none of them: the topics and modes, the model
architectures, the user's error, where files live, and every command-line option (flags, options).

Plain data and small pure functions: importing it does no work."""
