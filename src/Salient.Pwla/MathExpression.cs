using System.Globalization;

namespace Salient.Pwla;

/// <summary>A bad expression: what is wrong and the zero-based character position where it was found.</summary>
public sealed class ExpressionException(string message, int position)
    : FormatException($"{message} (at position {position})")
{
    /// <summary>Zero-based index into the expression text.</summary>
    public int Position { get; } = position;
}

/// <summary>
/// A function of one variable <c>x</c> parsed from text, e.g. <c>sin(6*x) + step(x - 0.37)</c>.
/// Grammar: numbers, <c>x</c>, <c>pi</c>, <c>e</c>, <c>+ - * / ^</c> (right-associative), unary minus,
/// parentheses and the functions sin cos tan exp log sqrt abs tanh step (<c>step(z)</c> is 1 for z &gt; 0, else 0).
/// It is compiled to a postfix program evaluated over spans; nothing is reflected or emitted.
/// </summary>
public sealed class MathExpression
{
    private static readonly string[] FunctionNames = ["sin", "cos", "tan", "exp", "log", "sqrt", "abs", "tanh", "step"];

    private readonly Instruction[] _program;
    private readonly int _stackDepth;
    private readonly MathExpression[] _breakArguments;

    private MathExpression(string text, Instruction[] program, MathExpression[] breakArguments)
    {
        Text = text;
        _program = program;
        _breakArguments = breakArguments;
        var depth = 0;
        foreach (var instruction in program)
        {
            depth += instruction.Op switch { Op.Constant or Op.X => 1, < Op.Sin => -1, _ => 0 };
            _stackDepth = Math.Max(_stackDepth, depth);
        }
    }

    /// <summary>The text this expression was parsed from.</summary>
    public string Text { get; }

    /// <summary>Parses <paramref name="text"/>; throws <see cref="ExpressionException"/> with the position of the first problem.</summary>
    public static MathExpression Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var parser = new Parser(text);
        return parser.ParseAll();
    }

    /// <summary>The value at one point.</summary>
    public double Evaluate(double x)
    {
        Span<double> y = stackalloc double[1];
        Evaluate([x], y);
        return y[0];
    }

    /// <summary>Values at many points; <paramref name="y"/> must be as long as <paramref name="x"/>.</summary>
    public void Evaluate(ReadOnlySpan<double> x, Span<double> y)
    {
        if (y.Length != x.Length)
        {
            throw new ArgumentException("x and y differ in length.", nameof(y));
        }

        var n = x.Length;
        var buffer = new double[Math.Max(_stackDepth - 1, 0) * n];
        var top = -1;
        foreach (var instruction in _program)
        {
            if (instruction.Op is Op.Constant or Op.X)
            {
                var target = Slot(y, buffer, ++top);
                if (instruction.Op == Op.X)
                {
                    x.CopyTo(target);
                }
                else
                {
                    target.Fill(instruction.Value);
                }

                continue;
            }

            if (instruction.Op < Op.Sin)
            {
                var right = Slot(y, buffer, top--);
                Binary(instruction.Op, Slot(y, buffer, top), right);
            }
            else
            {
                Unary(instruction.Op, Slot(y, buffer, top));
            }
        }
    }

    /// <summary>
    /// Points in [a, b] where the function may jump or kink: the sign changes of every <c>step</c> and <c>abs</c>
    /// argument, located by bisection. Quadrature splits its cells there so that integrals stay accurate.
    /// </summary>
    public IReadOnlyList<double> BreakPoints(double a, double b)
    {
        const int Grid = 4096;
        var points = new List<double>();
        foreach (var argument in _breakArguments)
        {
            var previousX = a;
            var previous = argument.Evaluate(a);
            for (var i = 1; i <= Grid; i++)
            {
                var x = a + ((b - a) * i / Grid);
                var value = argument.Evaluate(x);
                if (value == 0)
                {
                    points.Add(x);
                }
                else if (Math.Sign(value) * Math.Sign(previous) < 0)
                {
                    points.Add(Bisect(argument, previousX, x, previous));
                }

                previousX = x;
                previous = value;
            }
        }

        points.Sort();
        return points;
    }

    /// <inheritdoc/>
    public override string ToString() => Text;

    // Level 0 of the evaluation stack is the output itself; deeper levels live in the scratch buffer.
    private static Span<double> Slot(Span<double> y, double[] buffer, int level)
        => level == 0 ? y : buffer.AsSpan((level - 1) * y.Length, y.Length);

    private static double Bisect(MathExpression f, double lo, double hi, double fLo)
    {
        for (var i = 0; i < 100 && hi - lo > 0; i++)
        {
            var mid = 0.5 * (lo + hi);
            if (mid <= lo || mid >= hi)
            {
                break;
            }

            var value = f.Evaluate(mid);
            if (value == 0)
            {
                return mid;
            }

            if (Math.Sign(value) == Math.Sign(fLo))
            {
                lo = mid;
            }
            else
            {
                hi = mid;
            }
        }

        return hi;
    }

    private static void Binary(Op op, Span<double> left, ReadOnlySpan<double> right)
    {
        for (var i = 0; i < left.Length; i++)
        {
            left[i] = op switch
            {
                Op.Add => left[i] + right[i],
                Op.Subtract => left[i] - right[i],
                Op.Multiply => left[i] * right[i],
                Op.Divide => left[i] / right[i],
                _ => Math.Pow(left[i], right[i]),
            };
        }
    }

    private static void Unary(Op op, Span<double> values)
    {
        for (var i = 0; i < values.Length; i++)
        {
            var v = values[i];
            values[i] = op switch
            {
                Op.Negate => -v,
                Op.Sin => Math.Sin(v),
                Op.Cos => Math.Cos(v),
                Op.Tan => Math.Tan(v),
                Op.Exp => Math.Exp(v),
                Op.Log => Math.Log(v),
                Op.Sqrt => Math.Sqrt(v),
                Op.Abs => Math.Abs(v),
                Op.Tanh => Math.Tanh(v),
                _ => v > 0 ? 1.0 : 0.0,
            };
        }
    }

    // Binary operators come first so that "op < Sin" means "pops two".
    private enum Op
    {
        Add,
        Subtract,
        Multiply,
        Divide,
        Power,
        Sin,
        Cos,
        Tan,
        Exp,
        Log,
        Sqrt,
        Abs,
        Tanh,
        Step,
        Negate,
        Constant,
        X,
    }

    private readonly record struct Instruction(Op Op, double Value = 0);

    /// <summary>Recursive descent straight to postfix: expr := term (±term)*, term := unary (*|/ unary)*, unary := -unary | power, power := primary (^ unary)?.</summary>
    private sealed class Parser(string text)
    {
        private readonly List<Instruction> _program = [];
        private readonly List<MathExpression> _breakArguments = [];
        private int _position;
        private int _depth;

        public MathExpression ParseAll()
        {
            SkipSpace();
            if (_position == text.Length)
            {
                throw new ExpressionException("the expression is empty", 0);
            }

            Expression();
            SkipSpace();
            if (_position < text.Length)
            {
                throw new ExpressionException(text[_position] == ')' ? "unmatched ')'" : $"unexpected '{text[_position]}'; expected an operator", _position);
            }

            return new MathExpression(text, [.. _program], [.. _breakArguments]);
        }

        private void Expression()
        {
            Term();
            while (TryConsume('+', '-', out var symbol))
            {
                Term();
                _program.Add(new(symbol == '+' ? Op.Add : Op.Subtract));
            }
        }

        private void Term()
        {
            Unary();
            while (TryConsume('*', '/', out var symbol))
            {
                Unary();
                _program.Add(new(symbol == '*' ? Op.Multiply : Op.Divide));
            }
        }

        private void Unary()
        {
            if (TryConsume('-', '+', out var symbol))
            {
                // Guards the recursion against inputs like "------...x".
                if (++_depth > 200)
                {
                    throw new ExpressionException("the expression is nested too deeply", _position);
                }

                Unary();
                _depth--;
                if (symbol == '-')
                {
                    _program.Add(new(Op.Negate));
                }

                return;
            }

            Power();
        }

        private void Power()
        {
            Primary();
            if (TryConsume('^', '^', out _))
            {
                Unary();
                _program.Add(new(Op.Power));
            }
        }

        private void Primary()
        {
            SkipSpace();
            if (_position == text.Length)
            {
                throw new ExpressionException("the expression ends where a number, x, a function or '(' was expected", _position);
            }

            var start = _position;
            var c = text[_position];
            if (char.IsAsciiDigit(c) || c == '.')
            {
                Number();
            }
            else if (char.IsAsciiLetter(c))
            {
                while (_position < text.Length && (char.IsAsciiLetterOrDigit(text[_position]) || text[_position] == '_'))
                {
                    _position++;
                }

                Name(text[start.._position], start);
            }
            else if (c == '(')
            {
                _position++;
                Nested(start);
            }
            else
            {
                throw new ExpressionException($"unexpected '{c}'; expected a number, x, a function or '('", start);
            }
        }

        private void Number()
        {
            var start = _position;
            while (_position < text.Length && (char.IsAsciiDigit(text[_position]) || text[_position] == '.'))
            {
                _position++;
            }

            // An exponent only when digits follow, so that "2e" is not silently read as a number.
            if (_position + 1 < text.Length && text[_position] is 'e' or 'E')
            {
                var next = _position + 1;
                if (text[next] is '+' or '-')
                {
                    next++;
                }

                if (next < text.Length && char.IsAsciiDigit(text[next]))
                {
                    _position = next;
                    while (_position < text.Length && char.IsAsciiDigit(text[_position]))
                    {
                        _position++;
                    }
                }
            }

            var token = text[start.._position];
            if (!double.TryParse(token, NumberStyles.Float, CultureInfo.InvariantCulture, out var value))
            {
                throw new ExpressionException($"'{token}' is not a number", start);
            }

            _program.Add(new(Op.Constant, value));
        }

        private void Name(string name, int start)
        {
            switch (name)
            {
                case "x":
                    _program.Add(new(Op.X));
                    return;
                case "pi":
                    _program.Add(new(Op.Constant, Math.PI));
                    return;
                case "e":
                    _program.Add(new(Op.Constant, Math.E));
                    return;
            }

            var index = Array.IndexOf(FunctionNames, name);
            if (index < 0)
            {
                throw new ExpressionException($"unknown name '{name}'; use x, pi, e or one of {string.Join(", ", FunctionNames)}", start);
            }

            SkipSpace();
            if (_position == text.Length || text[_position] != '(')
            {
                throw new ExpressionException($"'{name}' needs its argument in parentheses", _position);
            }

            var open = _position++;
            var argumentStart = _program.Count;
            Nested(open);
            var op = Op.Sin + index;
            if (op is Op.Step or Op.Abs)
            {
                var argument = _program.GetRange(argumentStart, _program.Count - argumentStart);
                _breakArguments.Add(new MathExpression(text[(open + 1)..(_position - 1)], [.. argument], []));
            }

            _program.Add(new(op));
        }

        private void Nested(int open)
        {
            if (++_depth > 200)
            {
                throw new ExpressionException("the expression is nested too deeply", open);
            }

            SkipSpace();
            if (_position < text.Length && text[_position] == ')')
            {
                throw new ExpressionException("empty parentheses", open);
            }

            Expression();
            SkipSpace();
            if (_position == text.Length || text[_position] != ')')
            {
                throw new ExpressionException("'(' is never closed", open);
            }

            _position++;
            _depth--;
        }

        private bool TryConsume(char first, char second, out char symbol)
        {
            SkipSpace();
            if (_position < text.Length && (text[_position] == first || text[_position] == second))
            {
                symbol = text[_position++];
                return true;
            }

            symbol = '\0';
            return false;
        }

        private void SkipSpace()
        {
            while (_position < text.Length && char.IsWhiteSpace(text[_position]))
            {
                _position++;
            }
        }
    }
}
