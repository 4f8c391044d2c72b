//! The query layer of dictdb-rs: one expression tree for the DSL and SQL, a planner
//! made of switchable rules, and an executor over the engine's columnar tables.
//!
//! ```
//! use dictdb_engine::{record, Catalog, IndexKind, Value};
//! use dictdb_query::{col, plan, execute, PlannerConfig, Query, TableInfo};
//!
//! let catalog = Catalog::new();
//! let t = catalog.create_table("users", "id", None)?;
//! t.insert_many(vec![
//!     record! { "name" => "Ada", "age" => 36 },
//!     record! { "name" => "Linus", "age" => 17 },
//! ])?;
//! t.create_index("age", IndexKind::Sorted);
//!
//! let data = t.read();
//! let q = Query::new().filter(col("age").ge(18)).columns(["name"]);
//! let p = plan(&q, &TableInfo::of(&data), &PlannerConfig::default());
//! assert_eq!(p.explain().last().unwrap(), "btree range age [18, +inf) on users");
//! let rows = execute(&p, &data).unwrap();
//! assert_eq!(rows, vec![record! { "name" => "Ada" }]);
//! # Ok::<(), dictdb_engine::Error>(())
//! ```

pub mod aggregate;
pub mod error;
pub mod exec;
pub mod expr;
pub mod filter;
pub mod func;
pub mod host;
pub mod like;
pub mod plan;
pub mod planner;
pub mod sql;

pub use aggregate::{Agg, AggFunc, Aggregation};
pub use error::{QueryError, Result};
pub use exec::execute;
pub use expr::{ArithOp, BoundExpr, CmpOp, Expr, StrOp, Tri, col, lit};
pub use func::Func;
pub use host::{HostError, HostFn, HostPredicate};
pub use like::LikePattern;
pub use plan::{Access, KeyRange, OrderKey, OrderStrategy, Plan, Query};
pub use planner::{
    AccessTemplate, PlanTemplate, PlannerConfig, TableInfo, access_template, plan, plan_access,
    plan_template,
};
