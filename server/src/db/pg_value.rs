//! Values between scimbox's SQL and PostgreSQL (issue 18), leniently both ways.
//!
//! The code binds and reads values the SQLite way: an `i64` for a flag, text for a stamp, a
//! `bool` bound as an integer. SQLite takes any value in any column; PostgreSQL checks each
//! parameter against the type it inferred. So a parameter goes over as a SQLite value
//! ([`rusqlite::types::Value`], which every `ToSql` of the code already produces) and becomes
//! whatever PostgreSQL asked for: an integer for a `BIGINT` or `BOOLEAN` parameter, its decimal
//! text for a `TEXT` one, and so on ([`Param`]). A column read comes back as a SQLite value
//! too ([`Cell`]: `BIGINT`, `INTEGER`, `BOOLEAN` as integers, `NUMERIC` as an integer when it
//! is one, text types and JSON as text, `BYTEA` as a blob), so every `FromSql` of the code reads
//! it exactly as it reads SQLite's.

use std::error::Error;

use rusqlite::types::{Value, ValueRef};
use tokio_postgres::types::private::BytesMut;
use tokio_postgres::types::{FromSql, IsNull, ToSql, Type, to_sql_checked};

type BoxError = Box<dyn Error + Sync + Send>;

/// A parameter: a SQLite value converted to the type PostgreSQL inferred for its placeholder.
#[derive(Debug)]
pub struct Param(pub Value);

impl Param {
    /// The parameter a rusqlite `ToSql` value gives.
    pub fn of(v: &dyn rusqlite::ToSql) -> Result<Self, rusqlite::Error> {
        use rusqlite::types::ToSqlOutput;
        Ok(Param(match v.to_sql()? {
            ToSqlOutput::Borrowed(r) => {
                Value::try_from(r).map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))?
            }
            ToSqlOutput::Owned(v) => v,
            other => {
                return Err(rusqlite::Error::ToSqlConversionFailure(
                    format!("no PostgreSQL form for the parameter {other:?}").into(),
                ));
            }
        }))
    }
}

fn texty(ty: &Type) -> bool {
    matches!(*ty, Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME | Type::UNKNOWN) || ty.name() == "citext"
}

impl ToSql for Param {
    fn to_sql(&self, ty: &Type, out: &mut BytesMut) -> Result<IsNull, BoxError> {
        match &self.0 {
            Value::Null => Ok(IsNull::Yes),
            Value::Integer(i) => match *ty {
                Type::INT8 => i.to_sql(ty, out),
                Type::INT4 => i32::try_from(*i)?.to_sql(ty, out),
                Type::INT2 => i16::try_from(*i)?.to_sql(ty, out),
                Type::BOOL => (*i != 0).to_sql(ty, out),
                Type::FLOAT8 => (*i as f64).to_sql(ty, out),
                Type::NUMERIC => numeric(*i, out),
                _ if texty(ty) => i.to_string().as_str().to_sql(ty, out),
                _ => Err(format!("an integer for a parameter of type {ty}").into()),
            },
            Value::Real(f) => match *ty {
                Type::FLOAT8 => f.to_sql(ty, out),
                Type::FLOAT4 => (*f as f32).to_sql(ty, out),
                _ if texty(ty) => f.to_string().as_str().to_sql(ty, out),
                _ => Err(format!("a real number for a parameter of type {ty}").into()),
            },
            Value::Text(s) => match *ty {
                Type::INT8 => s.trim().parse::<i64>()?.to_sql(ty, out),
                Type::INT4 => s.trim().parse::<i32>()?.to_sql(ty, out),
                Type::FLOAT8 => s.trim().parse::<f64>()?.to_sql(ty, out),
                Type::JSON => {
                    out.extend_from_slice(s.as_bytes());
                    Ok(IsNull::No)
                }
                Type::JSONB => {
                    out.extend_from_slice(&[1]);
                    out.extend_from_slice(s.as_bytes());
                    Ok(IsNull::No)
                }
                Type::BYTEA => s.as_bytes().to_sql(ty, out),
                _ => s.as_str().to_sql(ty, out),
            },
            Value::Blob(b) => match *ty {
                Type::BYTEA => b.as_slice().to_sql(ty, out),
                _ => Err(format!("bytes for a parameter of type {ty}").into()),
            },
        }
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    to_sql_checked!();
}

/// An integer as PostgreSQL's binary NUMERIC: base-10000 digits, most significant first.
fn numeric(i: i64, out: &mut BytesMut) -> Result<IsNull, BoxError> {
    let mut digits = Vec::new();
    let mut rest = i.unsigned_abs();
    while rest > 0 {
        digits.push(u16::try_from(rest % 10_000)?);
        rest /= 10_000;
    }
    digits.reverse();
    let n = i16::try_from(digits.len())?;
    out.extend_from_slice(&n.to_be_bytes());
    out.extend_from_slice(&(n - 1).max(0).to_be_bytes()); // weight
    out.extend_from_slice(&(if i < 0 { 0x4000_u16 } else { 0 }).to_be_bytes());
    out.extend_from_slice(&0_u16.to_be_bytes()); // display scale
    for d in digits {
        out.extend_from_slice(&d.to_be_bytes());
    }
    Ok(IsNull::No)
}

/// A column's value as SQLite would hold it.
#[derive(Debug, Clone, PartialEq)]
pub struct Cell(pub Value);

impl Cell {
    /// The value as rusqlite's `FromSql` reads it.
    pub fn as_ref(&self) -> ValueRef<'_> {
        ValueRef::from(&self.0)
    }
}

impl<'a> FromSql<'a> for Cell {
    fn from_sql(ty: &Type, raw: &'a [u8]) -> Result<Self, BoxError> {
        Ok(Cell(match *ty {
            Type::INT8 => Value::Integer(i64::from_sql(ty, raw)?),
            Type::INT4 => Value::Integer(i32::from_sql(ty, raw)?.into()),
            Type::INT2 => Value::Integer(i16::from_sql(ty, raw)?.into()),
            Type::OID => Value::Integer(u32::from_sql(ty, raw)?.into()),
            Type::BOOL => Value::Integer(bool::from_sql(ty, raw)?.into()),
            Type::FLOAT8 => Value::Real(f64::from_sql(ty, raw)?),
            Type::FLOAT4 => Value::Real(f32::from_sql(ty, raw)?.into()),
            Type::NUMERIC => read_numeric(raw)?,
            Type::BYTEA => Value::Blob(raw.to_vec()),
            Type::JSONB => Value::Text(std::str::from_utf8(raw.get(1..).unwrap_or_default())?.to_owned()),
            Type::VOID => Value::Null,
            _ => Value::Text(std::str::from_utf8(raw)?.to_owned()),
        }))
    }

    fn from_sql_null(_: &Type) -> Result<Self, BoxError> {
        Ok(Cell(Value::Null))
    }

    fn accepts(_: &Type) -> bool {
        true
    }
}

/// PostgreSQL's binary NUMERIC (what `sum()` of a BIGINT gives): an integer when it is one (as
/// SQLite's `sum()` of integers), else a real number.
fn read_numeric(raw: &[u8]) -> Result<Value, BoxError> {
    let word = |i: usize| -> Result<u16, BoxError> {
        let b = raw.get(i * 2..i * 2 + 2).ok_or("a short NUMERIC")?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    };
    let (n, weight, sign, scale) = (word(0)?, word(1)?.cast_signed(), word(2)?, word(3)?);
    if sign == 0xC000 {
        return Ok(Value::Real(f64::NAN));
    }
    let mut value = 0.0_f64;
    for k in 0..usize::from(n) {
        let power = i32::from(weight) - i32::try_from(k)?;
        value += f64::from(word(4 + k)?) * 10_000_f64.powi(power);
    }
    if sign == 0x4000 {
        value = -value;
    }
    let whole = scale == 0 && value.fract() == 0.0 && value.abs() < 9.0e15;
    Ok(if whole { Value::Integer(value as i64) } else { Value::Real(value) })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip_numeric(i: i64) -> Value {
        let mut out = BytesMut::new();
        numeric(i, &mut out).unwrap_or_else(|e| panic!("{e}"));
        read_numeric(&out).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn numerics_read_back_as_integers() {
        for i in [0, 1, 9_999, 10_000, 123_456_789, -42, 1_000_000_000_000] {
            assert_eq!(round_trip_numeric(i), Value::Integer(i), "{i}");
        }
    }

    #[test]
    fn integers_become_what_postgres_asks_for() {
        let p = Param(Value::Integer(1));
        let mut out = BytesMut::new();
        assert!(p.to_sql(&Type::BOOL, &mut out).is_ok());
        assert_eq!(&out[..], [1]);
        out.clear();
        assert!(p.to_sql(&Type::TEXT, &mut out).is_ok());
        assert_eq!(&out[..], b"1");
        out.clear();
        assert!(Param(Value::Blob(vec![1])).to_sql(&Type::INT8, &mut out).is_err());
        assert!(Param(Value::Text("x".into())).to_sql(&Type::INT8, &mut out).is_err());
    }
}
