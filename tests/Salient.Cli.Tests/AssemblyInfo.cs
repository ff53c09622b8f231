// The commands write to Console.Out and Console.Error, which the tests swap to read them: the
// console is process-wide, so the test classes must not run at the same time.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
