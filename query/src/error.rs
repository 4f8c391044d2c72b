//! Errors raised while planning or running a query.

use dictdb_engine::Value;

/// A query error.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum QueryError {
    /// An engine error (a write inside an UPDATE or DELETE), or a host
    /// predicate's error ([`crate::Expr::Host`]: `dictdb_engine::Error::Host`,
    /// the host's own error inside, unchanged).
    #[error(transparent)]
    Engine(#[from] dictdb_engine::Error),
    /// `+ - *` or SUM overflowed 64-bit integers.
    #[error("integer overflow: {left} {op} {right}")]
    Overflow {
        /// The operator.
        op: &'static str,
        /// Left operand.
        left: Value,
        /// Right operand.
        right: Value,
    },
    /// Division or modulo by zero.
    #[error("division by zero")]
    DivisionByZero,
    /// An operator applied to values it does not take.
    #[error("unsupported operand types for {op}: {left} and {right}")]
    Type {
        /// The operator.
        op: &'static str,
        /// Left operand.
        left: Value,
        /// Right operand.
        right: Value,
    },
    /// A unary operator applied to a value it does not take.
    #[error("unsupported operand type for unary {op}: {value}")]
    UnaryType {
        /// The operator.
        op: &'static str,
        /// The operand.
        value: Value,
    },
    /// A value that cannot be a condition (text, lists, …).
    #[error("{value} cannot be used as a condition")]
    NotACondition {
        /// The value.
        value: Value,
    },
    /// SUM/AVG over a value that is not a number.
    #[error("{function}({field}) over a non-numeric value {value}")]
    NonNumeric {
        /// The aggregate.
        function: &'static str,
        /// The field aggregated.
        field: String,
        /// The value met.
        value: Value,
    },
    /// A scalar function applied to a value it does not take.
    #[error("{function}() {message}")]
    Function {
        /// The function.
        function: &'static str,
        /// What is wrong (names the value).
        message: String,
    },
    /// A placeholder evaluated before a value was bound to it.
    #[error("no value bound to the parameter ${}", .index + 1)]
    UnboundParam {
        /// Its 0-based index.
        index: usize,
    },
    /// The same result name twice in an aggregate.
    #[error("duplicate result name '{name}'")]
    DuplicateName {
        /// The name.
        name: String,
    },
}

/// Result of query operations.
pub type Result<T, E = QueryError> = std::result::Result<T, E>;
