//! The whole Rust surface of dictdb-rs in one program: tables (schemaless and
//! typed), inserts, upserts, lookups, queries with their plans, updates, deletes,
//! aggregates, indexes and change tracking.
//!
//! Run it with `cargo run --release -p dictdb --example quickstart`.

use dictdb::{
    Agg, Aggregation, Database, FieldType, IndexKind, OnConflict, Query, Record, Schema, Value,
    col, record,
};

fn show(title: &str, rows: &[Record]) {
    println!("{title}");
    for r in rows {
        println!("  {r}");
    }
}

fn main() -> Result<(), dictdb::Error> {
    let db = Database::new();

    // A schemaless table: records are dicts; fields may differ between rows.
    let users = db.create_table("users", "id")?;
    let keys = users.insert_many(vec![
        record! { "name" => "Ada", "age" => 36, "city" => "London", "tags" => Value::list([Value::str("math")]) },
        record! { "name" => "Grace", "age" => 45, "city" => "New York" },
        record! { "name" => "Linus", "age" => 17, "city" => "Helsinki" },
        record! { "name" => "Margaret", "age" => 33, "city" => "Boston", "email" => Value::Null },
        record! { "name" => "Alan", "age" => 41, "city" => "London" },
    ])?;
    let keys: Vec<String> = keys.iter().map(Value::to_string).collect();
    println!("inserted keys {}", keys.join(", "));

    // Secondary indexes: hash for equality, sorted for ranges and ordering.
    users.create_index("city", IndexKind::Hash);
    users.create_index("age", IndexKind::Sorted);

    // A query: adults, oldest first, two at most, two columns.
    let q = Query::new()
        .filter(col("age").ge(18))
        .order_by_desc("age")
        .limit(2)
        .columns(["name", "age"]);
    show("oldest adults:", &users.select(&q)?);
    println!("plan:");
    for line in users.explain(&q) {
        println!("  {line}");
    }

    // Conditions combine with & | and !; `eq(Value::Null)` matches NULL and absent fields.
    let q = Query::new()
        .filter(col("city").eq("London") | col("age").lt(20))
        .columns(["name"]);
    show("Londoners or teenagers:", &users.select(&q)?);
    let q = Query::new()
        .filter(col("email").eq(Value::Null))
        .columns(["name"]);
    show("no email:", &users.select(&q)?);
    let q = Query::new()
        .filter(col("name").like("%a%") & !col("city").eq("London"))
        .columns(["name", "city"]);
    show("names with an 'a', outside London:", &users.select(&q)?);

    // Lookups by key, upserts, updates and deletes.
    println!(
        "user 3: {}",
        users.get(&Value::Int(3)).expect("user 3 exists")
    );
    let (key, action) = users.upsert(record! { "id" => 3, "age" => 18 }, OnConflict::Update)?;
    println!("upsert of {key}: {}", action.name());
    let n = users.update(&col("city").eq("London"), record! { "city" => "Cambridge" })?;
    println!("moved {n} users to Cambridge");
    let n = users.delete(&col("age").lt(35))?;
    println!("deleted {n} users younger than 35");

    // Aggregates, grouped in order of first appearance.
    let by_city = users.aggregate(
        Aggregation::new()
            .group_by(["city"])
            .agg("n", Agg::count())
            .agg("avg_age", Agg::avg("age"))
            .agg("oldest", Agg::max("age")),
    )?;
    show("by city:", &by_city);

    // Change tracking (what a delta backup will write).
    let deleted: Vec<String> = users.deleted_keys().iter().map(Value::to_string).collect();
    println!(
        "changed rows: {}, deleted keys: {}",
        users.dirty_records().len(),
        deleted.join(", ")
    );

    // A typed table: the schema is checked on every write; failures change nothing.
    let schema = Schema::new()
        .field("sku", FieldType::Str)
        .field("price", FieldType::Float)
        .nullable("note", FieldType::Str);
    let items = db.create_table_with_schema("items", "sku", Some(schema))?;
    items.insert(record! { "sku" => "A-1", "price" => 9.5 })?;
    let bad = items.insert_many(vec![
        record! { "sku" => "B-2", "price" => 3.0 },
        record! { "sku" => "C-3", "price" => 4 }, // an int in a float field
    ]);
    println!("bad batch: {}", bad.unwrap_err());
    println!("items after the failed batch: {}", items.len());

    println!("tables: {:?}", db.table_names());
    Ok(())
}
