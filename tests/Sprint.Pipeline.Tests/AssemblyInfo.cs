// The trainers (selector, outcome verifier) seed libtorch's one global generator and draw initial weights from it,
// and the other classes here run the model on libtorch too: in parallel a seeded result could change (the outcome
// verifier's same-seed check failed under load twice). The whole project runs in about 10 s, so one class at a time.
[assembly: Xunit.CollectionBehavior(DisableTestParallelization = true)]
