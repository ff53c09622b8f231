namespace Salient.Training.Csg.Internal;

/// <summary>
/// Standard normal draws identical to NumPy's legacy <c>np.random.RandomState(seed).standard_normal</c>:
/// MT19937 seeded with Knuth's initialiser, 53-bit doubles from two 32-bit outputs, and the polar
/// Box–Muller method that caches the second value of each accepted pair. scikit-learn's
/// <c>check_random_state(int)</c> builds exactly this generator, so the jitter it adds to features can
/// be reproduced draw for draw.
/// </summary>
public sealed class LegacyNormalSource
{
    private const int StateLength = 624;
    private const int ShiftSize = 397;
    private const uint MatrixA = 0x9908b0df;
    private const uint UpperMask = 0x80000000;
    private const uint LowerMask = 0x7fffffff;

    private readonly uint[] _state = new uint[StateLength];
    private int _position;
    private double? _cachedNormal;

    public LegacyNormalSource(uint seed)
    {
        _state[0] = seed;
        for (var i = 1; i < StateLength; i++)
        {
            var previous = _state[i - 1];
            _state[i] = (1812433253u * (previous ^ (previous >> 30))) + (uint)i;
        }

        _position = StateLength;
    }

    public double NextStandardNormal()
    {
        if (_cachedNormal is { } cached)
        {
            _cachedNormal = null;
            return cached;
        }

        double x1, x2, r2;
        do
        {
            x1 = (2.0 * NextDouble()) - 1.0;
            x2 = (2.0 * NextDouble()) - 1.0;
            r2 = (x1 * x1) + (x2 * x2);
        }
        while (r2 >= 1.0 || r2 == 0.0);

        var factor = Math.Sqrt(-2.0 * Math.Log(r2) / r2);
        _cachedNormal = factor * x1;
        return factor * x2;
    }

    /// <summary>A uniform double in [0, 1) with 53 random bits: 27 from one output, 26 from the next.</summary>
    private double NextDouble()
    {
        var high = NextUInt32() >> 5;
        var low = NextUInt32() >> 6;
        return ((high * 67108864.0) + low) / 9007199254740992.0;
    }

    private uint NextUInt32()
    {
        if (_position == StateLength)
        {
            Twist();
        }

        var y = _state[_position++];
        y ^= y >> 11;
        y ^= (y << 7) & 0x9d2c5680;
        y ^= (y << 15) & 0xefc60000;
        y ^= y >> 18;
        return y;
    }

    private void Twist()
    {
        for (var i = 0; i < StateLength; i++)
        {
            var y = (_state[i] & UpperMask) | (_state[(i + 1) % StateLength] & LowerMask);
            _state[i] = _state[(i + ShiftSize) % StateLength] ^ (y >> 1) ^ ((y & 1) == 0 ? 0 : MatrixA);
        }

        _position = 0;
    }
}
