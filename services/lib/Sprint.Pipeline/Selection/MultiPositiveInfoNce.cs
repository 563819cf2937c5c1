using static TorchSharp.torch;

namespace Sprint.Pipeline.Selection;

/// <summary>
/// Multi-positive InfoNCE (the "outside" form of supervised contrastive learning): for each question, the mean over
/// its positive configurations p of −log softmax(scores)[p]; then the mean over questions. Every row needs at least
/// one positive.
/// </summary>
public static class MultiPositiveInfoNce
{
    public static Tensor Loss(Tensor scores, Tensor positives)
    {
        var logProbs = scores.log_softmax(1);
        var mask = positives.to(scores.dtype);
        var perQuestion = -(logProbs * mask).sum(1) / mask.sum(1);
        return perQuestion.mean();
    }
}
