//! SCIM schema definitions (RFC 7643 §2, §4, §7): the core User schema, the Enterprise User
//! extension and the common attributes, as static data. Everything schema-shaped in scimbox is
//! derived from these tables: input normalisation, filters, PATCH paths and the `/Schemas`
//! discovery documents. Nothing here does I/O.

use serde_json::{Map, Value, json};

/// URN of the core User schema (RFC 7643 §4.1).
pub const USER_URN: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
/// URN of the Enterprise User extension (RFC 7643 §4.3).
pub const ENTERPRISE_USER_URN: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
/// URN of the core Group schema (RFC 7643 §4.2).
pub const GROUP_URN: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
/// URN of scimbox's User extension: `accounts` for IdPs that cannot send a multi-valued custom
/// attribute in the core namespace (Entra ID), and the read-only effective `access`.
pub const SCIMBOX_USER_URN: &str = "urn:ietf:params:scim:schemas:extension:scimbox:2.0:User";
/// URN of the ListResponse message (RFC 7644 §3.4.2).
pub const LIST_RESPONSE_URN: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
/// URN of the PatchOp message (RFC 7644 §3.5.2).
pub const PATCH_OP_URN: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
/// URN of the SearchRequest message (RFC 7644 §3.4.3).
pub const SEARCH_REQUEST_URN: &str = "urn:ietf:params:scim:api:messages:2.0:SearchRequest";
/// URN of the Error message (RFC 7644 §3.12).
pub const ERROR_URN: &str = "urn:ietf:params:scim:api:messages:2.0:Error";
/// URN of the Schema resource schema (RFC 7643 §7).
pub const SCHEMA_URN: &str = "urn:ietf:params:scim:schemas:core:2.0:Schema";
/// URN of the ResourceType resource schema (RFC 7643 §6).
pub const RESOURCE_TYPE_URN: &str = "urn:ietf:params:scim:schemas:core:2.0:ResourceType";
/// URN of the ServiceProviderConfig schema (RFC 7643 §5).
pub const SERVICE_PROVIDER_CONFIG_URN: &str = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig";

/// An attribute's data type (RFC 7643 §2.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttrType {
    /// A sequence of characters.
    String,
    /// `true` or `false`.
    Boolean,
    /// A real number.
    Decimal,
    /// A whole number.
    Integer,
    /// An `xsd:dateTime` string.
    DateTime,
    /// Base64-encoded binary data.
    Binary,
    /// A URI for a resource.
    Reference,
    /// A singular or multi-valued attribute with sub-attributes.
    Complex,
}

impl AttrType {
    /// The name used in schema representations.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::String => "string",
            Self::Boolean => "boolean",
            Self::Decimal => "decimal",
            Self::Integer => "integer",
            Self::DateTime => "dateTime",
            Self::Binary => "binary",
            Self::Reference => "reference",
            Self::Complex => "complex",
        }
    }
}

/// Whether and how an attribute may be modified (RFC 7643 §7).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mutability {
    /// Set by the service provider only; client values are ignored.
    ReadOnly,
    /// Freely updated.
    ReadWrite,
    /// Set once (on create or when unset); later values must match.
    Immutable,
    /// Accepted but never returned.
    WriteOnly,
}

impl Mutability {
    /// The name used in schema representations.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ReadOnly => "readOnly",
            Self::ReadWrite => "readWrite",
            Self::Immutable => "immutable",
            Self::WriteOnly => "writeOnly",
        }
    }
}

/// When an attribute is returned (RFC 7643 §7).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Returned {
    /// Always returned, whatever `attributes`/`excludedAttributes` say.
    Always,
    /// Never returned.
    Never,
    /// Returned unless excluded.
    Default,
    /// Returned only when named in `attributes`.
    Request,
}

impl Returned {
    /// The name used in schema representations.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Always => "always",
            Self::Never => "never",
            Self::Default => "default",
            Self::Request => "request",
        }
    }
}

/// How unique an attribute's value is (RFC 7643 §7).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Uniqueness {
    /// No uniqueness.
    None,
    /// Unique within the service provider.
    Server,
    /// Globally unique.
    Global,
}

impl Uniqueness {
    /// The name used in schema representations.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Server => "server",
            Self::Global => "global",
        }
    }
}

/// One attribute definition (RFC 7643 §7 "attributes").
#[derive(Debug, Clone, Copy)]
pub struct Attribute {
    /// The attribute's canonical name (names match case-insensitively).
    pub name: &'static str,
    /// Its data type.
    pub ty: AttrType,
    /// Whether it holds a list of values.
    pub multi_valued: bool,
    /// A human-readable description.
    pub description: &'static str,
    /// Whether a resource must carry it.
    pub required: bool,
    /// Whether string comparisons are case-sensitive.
    pub case_exact: bool,
    /// Its mutability.
    pub mutability: Mutability,
    /// When it is returned.
    pub returned: Returned,
    /// Its uniqueness.
    pub uniqueness: Uniqueness,
    /// Suggested values (`type` sub-attributes).
    pub canonical_values: &'static [&'static str],
    /// For references: the resource types or `external`/`uri` it may point to.
    pub reference_types: &'static [&'static str],
    /// Sub-attributes of a complex attribute.
    pub sub_attributes: &'static [Attribute],
}

impl Attribute {
    /// A single-valued, optional, case-insensitive, read-write string.
    pub const fn new(name: &'static str, ty: AttrType, description: &'static str) -> Self {
        Self {
            name,
            ty,
            multi_valued: false,
            description,
            required: false,
            case_exact: false,
            mutability: Mutability::ReadWrite,
            returned: Returned::Default,
            uniqueness: Uniqueness::None,
            canonical_values: &[],
            reference_types: &[],
            sub_attributes: &[],
        }
    }
    /// A string attribute.
    pub const fn string(name: &'static str, description: &'static str) -> Self {
        Self::new(name, AttrType::String, description)
    }
    /// A complex attribute with these sub-attributes.
    pub const fn complex(name: &'static str, description: &'static str, subs: &'static [Attribute]) -> Self {
        let mut a = Self::new(name, AttrType::Complex, description);
        a.sub_attributes = subs;
        a
    }
    /// A reference attribute to these types.
    pub const fn reference(name: &'static str, description: &'static str, types: &'static [&'static str]) -> Self {
        let mut a = Self::new(name, AttrType::Reference, description);
        a.reference_types = types;
        a.case_exact = true;
        a
    }
    /// Make it multi-valued.
    pub const fn multi(mut self) -> Self {
        self.multi_valued = true;
        self
    }
    /// Make it required.
    pub const fn required(mut self) -> Self {
        self.required = true;
        self
    }
    /// Make string comparisons case-sensitive.
    pub const fn case_exact(mut self) -> Self {
        self.case_exact = true;
        self
    }
    /// Set its mutability.
    pub const fn mutability(mut self, m: Mutability) -> Self {
        self.mutability = m;
        self
    }
    /// Set when it is returned.
    pub const fn returned(mut self, r: Returned) -> Self {
        self.returned = r;
        self
    }
    /// Set its uniqueness.
    pub const fn uniqueness(mut self, u: Uniqueness) -> Self {
        self.uniqueness = u;
        self
    }
    /// Set its canonical values.
    pub const fn canonical(mut self, values: &'static [&'static str]) -> Self {
        self.canonical_values = values;
        self
    }

    /// The sub-attribute of this name, matched case-insensitively (RFC 7643 §2.1).
    pub fn sub(&self, name: &str) -> Option<&'static Attribute> {
        find(self.sub_attributes, name)
    }

    /// The attribute's representation inside a Schema resource (RFC 7643 §7).
    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("name".into(), json!(self.name));
        m.insert("type".into(), json!(self.ty.as_str()));
        m.insert("multiValued".into(), json!(self.multi_valued));
        m.insert("description".into(), json!(self.description));
        m.insert("required".into(), json!(self.required));
        if self.ty != AttrType::Complex && self.ty != AttrType::Boolean {
            m.insert("caseExact".into(), json!(self.case_exact));
        }
        if !self.canonical_values.is_empty() {
            m.insert("canonicalValues".into(), json!(self.canonical_values));
        }
        if !self.reference_types.is_empty() {
            m.insert("referenceTypes".into(), json!(self.reference_types));
        }
        m.insert("mutability".into(), json!(self.mutability.as_str()));
        m.insert("returned".into(), json!(self.returned.as_str()));
        m.insert("uniqueness".into(), json!(self.uniqueness.as_str()));
        if !self.sub_attributes.is_empty() {
            let subs: Vec<Value> = self.sub_attributes.iter().map(Attribute::to_json).collect();
            m.insert("subAttributes".into(), Value::Array(subs));
        }
        Value::Object(m)
    }
}

/// Finds an attribute by name, case-insensitively (RFC 7643 §2.1).
pub fn find(attrs: &'static [Attribute], name: &str) -> Option<&'static Attribute> {
    attrs.iter().find(|a| a.name.eq_ignore_ascii_case(name))
}

/// A schema: a URN and its attributes (RFC 7643 §7).
#[derive(Debug)]
pub struct Schema {
    /// The schema URN.
    pub id: &'static str,
    /// Its human-readable name.
    pub name: &'static str,
    /// What it describes.
    pub description: &'static str,
    /// Its top-level attributes.
    pub attributes: &'static [Attribute],
}

impl Schema {
    /// The top-level attribute of this name, matched case-insensitively.
    pub fn attribute(&self, name: &str) -> Option<&'static Attribute> {
        find(self.attributes, name)
    }

    /// The Schema resource (RFC 7643 §7), with `meta.location` under `base_url`.
    pub fn to_json(&self, base_url: &str) -> Value {
        json!({
            "schemas": [SCHEMA_URN],
            "id": self.id,
            "name": self.name,
            "description": self.description,
            "attributes": self.attributes.iter().map(Attribute::to_json).collect::<Vec<_>>(),
            "meta": {
                "resourceType": "Schema",
                "location": format!("{base_url}/Schemas/{}", self.id),
            }
        })
    }
}

/// Marks the attributes at these paths (`name.givenName`, `accounts`) as required in a Schema
/// resource built by [`Schema::to_json`]: the deployment's setting for required attributes,
/// reflected in `/Schemas`. Paths that name no attribute of the schema are left alone.
pub fn mark_required(schema_json: &mut Value, paths: &[String]) {
    for path in paths {
        let (top, sub) = match path.split_once('.') {
            Some((t, s)) => (t, Some(s)),
            None => (path.as_str(), None),
        };
        let Some(attr) = named_mut(&mut schema_json["attributes"], top) else { continue };
        match sub {
            None => attr["required"] = Value::Bool(true),
            Some(s) => {
                if let Some(sub) = named_mut(&mut attr["subAttributes"], s) {
                    sub["required"] = Value::Bool(true);
                }
            }
        }
    }
}

fn named_mut<'a>(list: &'a mut Value, name: &str) -> Option<&'a mut Value> {
    list.as_array_mut()?.iter_mut().find(|a| a["name"].as_str().is_some_and(|n| n.eq_ignore_ascii_case(name)))
}

/// Checks a required-attribute setting: each path must name a writable attribute (or
/// sub-attribute) of the core User schema. Returns the paths in canonical casing.
pub fn check_required_paths(paths: &[String]) -> Result<Vec<String>, String> {
    paths.iter().map(|p| canonical_required(p.trim())).collect()
}

fn canonical_required(path: &str) -> Result<String, String> {
    let (top, sub) = match path.split_once('.') {
        Some((t, s)) => (t, Some(s)),
        None => (path, None),
    };
    let unknown = || format!("\"{path}\" is not an attribute of the core User schema");
    let attr = USER_SCHEMA.attribute(top).ok_or_else(unknown)?;
    if matches!(attr.mutability, Mutability::ReadOnly | Mutability::WriteOnly) {
        return Err(format!("\"{path}\" cannot be required: clients cannot set it ({})", attr.mutability.as_str()));
    }
    match sub {
        None => Ok(attr.name.to_owned()),
        Some(s) if !attr.multi_valued => {
            let sub = attr.sub(s).ok_or_else(unknown)?;
            Ok(format!("{}.{}", attr.name, sub.name))
        }
        Some(_) => Err(format!("\"{path}\": a sub-attribute of a multi-valued attribute cannot be required")),
    }
}

/// A schema extension a resource type carries (RFC 7643 §6 `schemaExtensions`).
#[derive(Debug)]
pub struct Extension {
    /// The extension schema.
    pub schema: &'static Schema,
    /// Whether every resource must carry it.
    pub required: bool,
}

/// A resource type: its endpoint, core schema and extensions (RFC 7643 §6).
#[derive(Debug)]
pub struct ResourceType {
    /// Its id and name, such as `User`.
    pub name: &'static str,
    /// Its endpoint relative to the base URL, such as `/Users`.
    pub endpoint: &'static str,
    /// What it is.
    pub description: &'static str,
    /// Its core schema.
    pub schema: &'static Schema,
    /// Its extensions.
    pub extensions: &'static [Extension],
}

impl ResourceType {
    /// The extension with this URN, matched case-insensitively.
    pub fn extension(&self, urn: &str) -> Option<&'static Schema> {
        self.extensions.iter().map(|e| e.schema).find(|s| s.id.eq_ignore_ascii_case(urn))
    }

    /// Every schema of this type: the core schema first, then the extensions.
    pub fn schemas(&self) -> impl Iterator<Item = &'static Schema> + '_ {
        std::iter::once(self.schema).chain(self.extensions.iter().map(|e| e.schema))
    }

    /// The ResourceType resource (RFC 7643 §6).
    pub fn to_json(&self, base_url: &str) -> Value {
        json!({
            "schemas": [RESOURCE_TYPE_URN],
            "id": self.name,
            "name": self.name,
            "endpoint": self.endpoint,
            "description": self.description,
            "schema": self.schema.id,
            "schemaExtensions": self.extensions.iter()
                .map(|e| json!({"schema": e.schema.id, "required": e.required}))
                .collect::<Vec<_>>(),
            "meta": {
                "resourceType": "ResourceType",
                "location": format!("{base_url}/ResourceTypes/{}", self.name),
            }
        })
    }
}

use AttrType as T;
use Mutability as M;

/// The common attributes every resource carries (RFC 7643 §3.1). They belong to no schema and so
/// are not listed in `/Schemas`, but filters, sorting and paths resolve them.
pub static COMMON_ATTRIBUTES: &[Attribute] = &[
    Attribute::string("id", "Unique identifier of the resource, assigned by the service provider.")
        .case_exact()
        .mutability(M::ReadOnly)
        .returned(Returned::Always)
        .uniqueness(Uniqueness::Server),
    Attribute::string("externalId", "Identifier of the resource as defined by the provisioning client.").case_exact(),
    Attribute::complex("meta", "Resource metadata.", META_SUBS).mutability(M::ReadOnly),
];

static META_SUBS: &[Attribute] = &[
    Attribute::string("resourceType", "The name of the resource type.").case_exact().mutability(M::ReadOnly),
    Attribute::new("created", T::DateTime, "When the resource was added.").mutability(M::ReadOnly),
    Attribute::new("lastModified", T::DateTime, "When the resource was last changed.").mutability(M::ReadOnly),
    Attribute::reference("location", "The URI of the resource.", &["uri"]).mutability(M::ReadOnly),
    Attribute::string("version", "The version (entity tag) of the resource.").case_exact().mutability(M::ReadOnly),
];

const fn value_display_type_primary(value: Attribute, types: &'static [&'static str]) -> [Attribute; 4] {
    [
        value,
        Attribute::string("display", "A human-readable name, primarily used for display purposes."),
        Attribute::string("type", "A label indicating the attribute's function.").canonical(types),
        Attribute::new("primary", T::Boolean, "Whether this is the primary value of the attribute."),
    ]
}

static EMAIL_SUBS: [Attribute; 4] =
    value_display_type_primary(Attribute::string("value", "Email address for the user."), &["work", "home", "other"]);
static PHONE_SUBS: [Attribute; 4] = value_display_type_primary(
    Attribute::string("value", "Phone number of the user."),
    &["work", "home", "mobile", "fax", "pager", "other"],
);
static IMS_SUBS: [Attribute; 4] = value_display_type_primary(
    Attribute::string("value", "Instant messaging address for the user."),
    &["aim", "gtalk", "icq", "xmpp", "msn", "skype", "qq", "yahoo"],
);
static PHOTO_SUBS: [Attribute; 4] = value_display_type_primary(
    Attribute::reference("value", "URL of a photo of the user.", &["external"]),
    &["photo", "thumbnail"],
);
static ENTITLEMENT_SUBS: [Attribute; 4] =
    value_display_type_primary(Attribute::string("value", "The value of an entitlement."), &[]);
static ROLE_SUBS: [Attribute; 4] = value_display_type_primary(Attribute::string("value", "The value of a role."), &[]);
static X509_SUBS: [Attribute; 4] = value_display_type_primary(
    Attribute::new("value", T::Binary, "The value of an X.509 certificate.").case_exact(),
    &[],
);

static NAME_SUBS: &[Attribute] = &[
    Attribute::string("formatted", "The full name, formatted for display."),
    Attribute::string("familyName", "The family name of the user (last name in most Western languages)."),
    Attribute::string("givenName", "The given name of the user (first name in most Western languages)."),
    Attribute::string("middleName", "The middle name(s) of the user."),
    Attribute::string("honorificPrefix", "The honorific prefix(es) of the user (e.g. 'Ms.')."),
    Attribute::string("honorificSuffix", "The honorific suffix(es) of the user (e.g. 'III')."),
];

static ADDRESS_SUBS: &[Attribute] = &[
    Attribute::string("formatted", "The full mailing address, formatted for display."),
    Attribute::string("streetAddress", "The full street address component."),
    Attribute::string("locality", "The city or locality component."),
    Attribute::string("region", "The state or region component."),
    Attribute::string("postalCode", "The zip code or postal code component."),
    Attribute::string("country", "The country name component (ISO 3166-1 alpha-2)."),
    Attribute::string("type", "A label indicating the address' function.").canonical(&["work", "home", "other"]),
    Attribute::new("primary", T::Boolean, "Whether this is the primary address."),
];

static GROUP_REF_SUBS: &[Attribute] = &[
    Attribute::string("value", "The identifier of the user's group.").mutability(M::ReadOnly),
    Attribute::reference("$ref", "The URI of the corresponding Group resource.", &["User", "Group"])
        .mutability(M::ReadOnly),
    Attribute::string("display", "A human-readable name of the group.").mutability(M::ReadOnly),
    Attribute::string("type", "How the membership was derived: direct or indirect.")
        .canonical(&["direct", "indirect"])
        .mutability(M::ReadOnly),
];

/// The core User schema (RFC 7643 §4.1, §8.7.1).
pub static USER_SCHEMA: Schema = Schema {
    id: USER_URN,
    name: "User",
    description: "User Account",
    attributes: &[
        Attribute::string("userName", "Unique identifier for the user, typically used to authenticate. Unique across the service provider, compared case-insensitively.")
            .required()
            .uniqueness(Uniqueness::Server),
        Attribute::complex("name", "The components of the user's real name.", NAME_SUBS),
        Attribute::string("displayName", "The name of the user, suitable for display to end-users."),
        Attribute::string("nickName", "The casual way to address the user."),
        Attribute::reference("profileUrl", "A fully qualified URL pointing to the user's online profile.", &["external"]),
        Attribute::string("title", "The user's title, such as 'Vice President'."),
        Attribute::string("userType", "The relationship between the organization and the user."),
        Attribute::string("preferredLanguage", "The user's preferred written or spoken language (RFC 7231 Accept-Language format)."),
        Attribute::string("locale", "The user's default location for localisation (e.g. 'en-US')."),
        Attribute::string("timezone", "The user's time zone in IANA Time Zone database format (e.g. 'America/Los_Angeles')."),
        Attribute::new("active", T::Boolean, "The user's administrative status."),
        Attribute::string("password", "The user's cleartext password. Accepted and discarded by scimbox: never stored, never returned.")
            .mutability(M::WriteOnly)
            .returned(Returned::Never),
        Attribute::complex("emails", "Email addresses for the user.", &EMAIL_SUBS).multi(),
        Attribute::complex("phoneNumbers", "Phone numbers for the user.", &PHONE_SUBS).multi(),
        Attribute::complex("ims", "Instant messaging addresses for the user.", &IMS_SUBS).multi(),
        Attribute::complex("photos", "URLs of photos of the user.", &PHOTO_SUBS).multi(),
        Attribute::complex("addresses", "A physical mailing address for this user.", ADDRESS_SUBS).multi(),
        Attribute::complex("groups", "The groups the user belongs to, directly or indirectly. Read-only: managed through the Group resource.", GROUP_REF_SUBS)
            .multi()
            .mutability(M::ReadOnly),
        Attribute::complex("entitlements", "Entitlements of the user.", &ENTITLEMENT_SUBS).multi(),
        Attribute::complex("roles", "Roles of the user.", &ROLE_SUBS).multi(),
        Attribute::complex("x509Certificates", "X.509 certificates issued to the user.", &X509_SUBS).multi(),
        ACCOUNTS,
    ],
};

static MANAGER_SUBS: &[Attribute] = &[
    Attribute::string("value", "The id of the SCIM resource representing the user's manager.").case_exact(),
    Attribute::reference("$ref", "The URI of the SCIM resource representing the user's manager.", &["User"]),
    Attribute::string("displayName", "The displayName of the user's manager.").mutability(M::ReadOnly),
];

/// The Enterprise User extension (RFC 7643 §4.3, §8.7.1).
pub static ENTERPRISE_USER_SCHEMA: Schema = Schema {
    id: ENTERPRISE_USER_URN,
    name: "EnterpriseUser",
    description: "Enterprise User",
    attributes: &[
        Attribute::string(
            "employeeNumber",
            "A string identifier, typically numeric or alphanumeric, assigned to a person.",
        ),
        Attribute::string("costCenter", "Identifies the name of a cost center."),
        Attribute::string("organization", "Identifies the name of an organization."),
        Attribute::string("division", "Identifies the name of a division."),
        Attribute::string("department", "Identifies the name of a department."),
        Attribute::complex("manager", "The user's manager.", MANAGER_SUBS),
    ],
};

/// The User resource type (RFC 7643 §4.1, §6).
pub static USER_RESOURCE: ResourceType = ResourceType {
    name: "User",
    endpoint: "/Users",
    description: "User Account",
    schema: &USER_SCHEMA,
    extensions: &[
        Extension { schema: &ENTERPRISE_USER_SCHEMA, required: false },
        Extension { schema: &SCIMBOX_USER_SCHEMA, required: false },
    ],
};

/// The `accounts` attribute: which accounts a user may enter, with which roles and teams, one
/// JSON payload per value (the rules are in [`crate::accounts`]). It has no canonical value
/// here: a valid payload names an account of the deployment's registry, which these static
/// tables cannot know; `/Schemas` fills one in with [`describe_accounts`].
pub const ACCOUNTS: Attribute = Attribute::string(
    "accounts",
    "Account assignments, one JSON payload per value: {\"accountId\":\"ACC123\",\"roles\":\"Editor\",\"teams\":\"Marketing\",\"status\":\"Active\"}. accountId is required and must be registered; roles and teams are a string or a list of strings; status is Active (default) or Inactive.",
)
.case_exact()
.multi();

/// The scimbox extension's `accounts`: what Entra ID sends, ONE string holding a JSON array of
/// payloads (or one payload), as Entra's custom attributes are single-valued. Declared singular
/// so that Entra's `Add` of a new string replaces the old one, as Entra means it (an upsert, see
/// the IdP notes), instead of appending a second list that would name each account twice; a
/// list sent here is accepted too and, like every value, kept as sent (issue 13 §1).
pub const ACCOUNTS_ONE: Attribute = Attribute::string(
    "accounts",
    "Account assignments as ONE string holding a JSON array of payloads (Entra ID's form), such as [{\"accountId\":\"ACC123\",\"roles\":\"Editor\"}]; each payload follows the rules of the core accounts attribute.",
)
.case_exact();

/// What `/Schemas` shows of the deployment's registry in the `accounts` attribute (RFC 7643 §7
/// `canonicalValues` and `description`). The tables here read nothing: the server reads the
/// registry when it serves `/Schemas` and hands the result to [`describe_accounts`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccountsExample {
    /// The registry was not read: discovery needs no token, and account ids are the
    /// deployment's business, so an anonymous request is shown no registered name.
    Unread,
    /// No account is registered: no payload can be valid yet.
    NoAccounts,
    /// A registered account, and a catalogued role unless the roles catalogue is empty (any
    /// role is then accepted).
    Registered {
        /// The account's id (`accountId`).
        account_id: String,
        /// A role of the catalogue.
        role: Option<String>,
    },
}

impl AccountsExample {
    /// The example payload, in the form scimbox stores it
    /// (`{"accountId":"ACC-1","roles":["Reader"],"teams":[],"status":"Active"}`), when there
    /// is one.
    pub fn payload(&self) -> Option<String> {
        let Self::Registered { account_id, role } = self else { return None };
        let assignment = crate::accounts::Assignment {
            account_id: account_id.clone(),
            roles: role.iter().cloned().collect(),
            teams: Vec::new(),
            status: crate::accounts::Status::Active,
        };
        Some(assignment.to_payload())
    }

    /// The `accounts` attribute's description for this registry.
    /// `one_string` is the scimbox extension's singular attribute (Entra's ONE string).
    fn description(&self, one_string: bool) -> String {
        const PER_VALUE: &str = "Account assignments, one JSON payload per value, with the keys accountId (required), roles and teams (each a string or a list of strings) and status (Active, the default, or Inactive).";
        const ONE_STRING: &str = "Account assignments as ONE string holding a JSON array of payloads (Entra ID's form) or one payload, with the keys accountId (required), roles and teams (each a string or a list of strings) and status (Active, the default, or Inactive).";
        let shape = if one_string { ONE_STRING } else { PER_VALUE };
        match self {
            Self::Unread => format!(
                "{shape} accountId must name an account registered on this server (`scimbox account add`); a request with a bearer token is shown an example naming one."
            ),
            Self::NoAccounts => format!(
                "{shape} No account is registered on this server yet, so every payload is refused: register accounts first with `scimbox account add`."
            ),
            Self::Registered { role, .. } => {
                let roles = match role {
                    Some(_) => " and roles must be in its roles catalogue (`scimbox role add`)",
                    None => "",
                };
                let example = self.payload().unwrap_or_default();
                format!(
                    "{shape} accountId must name an account registered on this server{roles}. For example: {example}"
                )
            }
        }
    }
}

/// Fills in the `accounts` attribute of a Schema resource built by [`Schema::to_json`] (the
/// core User schema and the scimbox extension both carry it) for this registry: its
/// description, and, with a registered account, one canonical value naming it.
///
/// Generic SCIM clients build `accounts` values from `canonicalValues` (scim2-tester picks one
/// at random for each place the attribute appears), so a published value must pass the rules
/// against this registry. Exactly one is published: the core attribute and the extension's are
/// filled separately, and two different payloads there would be refused as accounts given
/// twice, differently.
pub fn describe_accounts(schema_json: &mut Value, example: &AccountsExample) {
    let Some(attr) = named_mut(&mut schema_json["attributes"], ACCOUNTS.name) else { return };
    let Some(attr) = attr.as_object_mut() else { return };
    let one_string = attr.get("multiValued") == Some(&Value::Bool(false));
    attr.insert("description".into(), Value::String(example.description(one_string)));
    match example.payload() {
        Some(payload) => attr.insert("canonicalValues".into(), json!([payload])),
        None => attr.shift_remove("canonicalValues"),
    };
}

static ACCESS_SUBS: &[Attribute] = &[
    Attribute::string("accountId", "The account the user may enter.").case_exact().mutability(M::ReadOnly),
    Attribute::string("roles", "The user's roles in that account.").multi().mutability(M::ReadOnly),
    Attribute::string("teams", "The user's teams in that account.").multi().mutability(M::ReadOnly),
    Attribute::string("status", "Active, or Inactive (the grant or the user is inactive).")
        .canonical(&["Active", "Inactive"])
        .mutability(M::ReadOnly),
    Attribute::string("inheritedFrom", "The ancestor account whose grant reaches this one, when inherited.")
        .case_exact()
        .mutability(M::ReadOnly),
];

/// scimbox's User extension (see [`SCIMBOX_USER_URN`]).
pub static SCIMBOX_USER_SCHEMA: Schema = Schema {
    id: SCIMBOX_USER_URN,
    name: "ScimboxUser",
    description: "scimbox account access",
    attributes: &[
        // Entra ID sends the whole list as ONE string here (it cannot send multi-valued custom
        // attributes); checked like the core `accounts`. Given in both places, they must agree.
        ACCOUNTS_ONE,
        Attribute::complex(
            "access",
            "Effective access, computed from the accounts payloads and the account tree: a grant on a parent account reaches its descendants.",
            ACCESS_SUBS,
        )
        .multi()
        .mutability(M::ReadOnly)
        // Returned by default (RFC 7643 §7): the one thing the application needs, in plain
        // sight on every User response; `excludedAttributes` drops it (issue 13 §3).
        .returned(Returned::Default),
    ],
};

static MEMBER_SUBS: &[Attribute] = &[
    Attribute::string("value", "The id of the member User or Group.").case_exact().mutability(M::Immutable),
    Attribute::reference("$ref", "The URI of the member resource; filled in by scimbox.", &["User", "Group"])
        .mutability(M::Immutable),
    Attribute::string("type", "The member's resource type; User when absent.")
        .canonical(&["User", "Group"])
        .mutability(M::Immutable),
    Attribute::string("display", "A human-readable name for the member; filled in by scimbox when absent."),
];

/// The core Group schema (RFC 7643 §4.2, §8.7.1). `displayName` is published as required, as
/// RFC 7643 §4.2's text says (its schema table says otherwise), and scimbox keeps it unique,
/// compared case-insensitively, because Entra ID matches groups by it.
pub static GROUP_SCHEMA: Schema = Schema {
    id: GROUP_URN,
    name: "Group",
    description: "Group",
    attributes: &[
        Attribute::string("displayName", "A human-readable name for the group; unique, compared case-insensitively.")
            .required()
            .uniqueness(Uniqueness::Server),
        Attribute::complex("members", "The members of the group: Users or Groups.", MEMBER_SUBS).multi(),
    ],
};

/// The Group resource type (RFC 7643 §4.2, §6).
pub static GROUP_RESOURCE: ResourceType =
    ResourceType { name: "Group", endpoint: "/Groups", description: "Group", schema: &GROUP_SCHEMA, extensions: &[] };

const fn ro(a: Attribute) -> Attribute {
    a.mutability(M::ReadOnly)
}

const fn supported(name: &'static str, description: &'static str) -> Attribute {
    Attribute::complex(name, description, SUPPORTED_SUBS).required().mutability(M::ReadOnly)
}

static SUPPORTED_SUBS: &[Attribute] =
    &[ro(Attribute::new("supported", T::Boolean, "Whether the operation is supported.").required())];

static ATTRIBUTE_DEF_SUBS: &[Attribute] = &[
    ro(Attribute::string("name", "The attribute's name.").case_exact().required()),
    ro(Attribute::string("type", "The attribute's data type.").required().canonical(&[
        "string",
        "complex",
        "boolean",
        "decimal",
        "integer",
        "dateTime",
        "reference",
        "binary",
    ])),
    ro(Attribute::new("multiValued", T::Boolean, "Whether the attribute is multi-valued.").required()),
    ro(Attribute::string("description", "A human-readable description of the attribute.")),
    ro(Attribute::new("required", T::Boolean, "Whether the attribute is required.")),
    ro(Attribute::string("canonicalValues", "Suggested canonical values.").case_exact().multi()),
    ro(Attribute::new("caseExact", T::Boolean, "Whether string values are case-sensitive.")),
    ro(Attribute::string("mutability", "Whether and how the attribute can be modified.").canonical(&[
        "readOnly",
        "readWrite",
        "immutable",
        "writeOnly",
    ])),
    ro(Attribute::string("returned", "When the attribute is returned.")
        .canonical(&["always", "never", "default", "request"])),
    ro(Attribute::string("uniqueness", "How unique the attribute's value is.")
        .canonical(&["none", "server", "global"])),
    ro(Attribute::string("referenceTypes", "The resource types a reference may point to.").case_exact().multi()),
];

static ATTRIBUTE_DEF_WITH_SUBS: &[Attribute] = &[
    ATTRIBUTE_DEF_SUBS[0],
    ATTRIBUTE_DEF_SUBS[1],
    ATTRIBUTE_DEF_SUBS[2],
    ATTRIBUTE_DEF_SUBS[3],
    ATTRIBUTE_DEF_SUBS[4],
    ATTRIBUTE_DEF_SUBS[5],
    ATTRIBUTE_DEF_SUBS[6],
    ATTRIBUTE_DEF_SUBS[7],
    ATTRIBUTE_DEF_SUBS[8],
    ATTRIBUTE_DEF_SUBS[9],
    ATTRIBUTE_DEF_SUBS[10],
    ro(Attribute::complex("subAttributes", "The sub-attributes of a complex attribute.", ATTRIBUTE_DEF_SUBS).multi()),
];

/// The schema of Schema resources (RFC 7643 §7, §8.7.2).
pub static SCHEMA_SCHEMA: Schema = Schema {
    id: SCHEMA_URN,
    name: "Schema",
    description: "Specifies the schema attributes of a resource type.",
    attributes: &[
        ro(Attribute::reference("id", "The unique URI of the schema.", &["uri"]).required()),
        ro(Attribute::string("name", "The schema's human-readable name.")),
        ro(Attribute::string("description", "The schema's human-readable description.")),
        ro(Attribute::complex("attributes", "The schema's attributes.", ATTRIBUTE_DEF_WITH_SUBS).multi().required()),
    ],
};

static SCHEMA_EXTENSION_SUBS: &[Attribute] = &[
    ro(Attribute::reference("schema", "The URI of an extension schema.", &["uri"]).required()),
    ro(Attribute::new("required", T::Boolean, "Whether resources must include the extension.").required()),
];

/// The schema of ResourceType resources (RFC 7643 §6, §8.7.2).
pub static RESOURCE_TYPE_SCHEMA: Schema = Schema {
    id: RESOURCE_TYPE_URN,
    name: "ResourceType",
    description: "Specifies the schema that describes a SCIM resource type.",
    attributes: &[
        ro(Attribute::string("id", "The resource type's server-unique id.").case_exact()),
        ro(Attribute::string("name", "The resource type's name.").required()),
        ro(Attribute::string("description", "The resource type's human-readable description.")),
        ro(Attribute::reference(
            "endpoint",
            "The resource type's HTTP-addressable endpoint relative to the base URL.",
            &["uri"],
        )
        .required()),
        ro(Attribute::reference("schema", "The resource type's primary schema URI.", &["uri"]).required()),
        ro(Attribute::complex("schemaExtensions", "The resource type's schema extensions.", SCHEMA_EXTENSION_SUBS)
            .multi()),
    ],
};

static BULK_SUBS: &[Attribute] = &[
    ro(Attribute::new("supported", T::Boolean, "Whether Bulk is supported.").required()),
    ro(Attribute::new("maxOperations", T::Integer, "The most operations in one Bulk request.").required()),
    ro(Attribute::new("maxPayloadSize", T::Integer, "The largest Bulk payload, in bytes.").required()),
];

static FILTER_SUBS: &[Attribute] = &[
    ro(Attribute::new("supported", T::Boolean, "Whether filtering is supported.").required()),
    ro(Attribute::new("maxResults", T::Integer, "The most resources one response returns.").required()),
];

/// The `pagination` block RFC 9865 §4 adds to the ServiceProviderConfig.
static PAGINATION_SUBS: &[Attribute] = &[
    ro(Attribute::new("cursor", T::Boolean, "Whether cursor-based pagination is supported.").required()),
    ro(Attribute::new("index", T::Boolean, "Whether index-based pagination is supported.").required()),
    ro(Attribute::string("defaultPaginationMethod", "The pagination method used when a request names none.")
        .canonical(&["cursor", "index"])),
    ro(Attribute::new("defaultPageSize", T::Integer, "The page size when a request has no count.")),
    ro(Attribute::new("maxPageSize", T::Integer, "The most resources one page returns, whatever the count.")),
    ro(Attribute::new("cursorTimeout", T::Integer, "The fewest seconds a cursor stays valid between pages.")),
];

static AUTH_SCHEME_SUBS: &[Attribute] = &[
    ro(Attribute::string("type", "The authentication scheme.").required().canonical(&[
        "oauth",
        "oauth2",
        "oauthbearertoken",
        "httpbasic",
        "httpdigest",
    ])),
    ro(Attribute::string("name", "The scheme's common name.").required()),
    ro(Attribute::string("description", "A description of the scheme.").required()),
    ro(Attribute::reference("specUri", "The scheme's specification.", &["external"])),
    ro(Attribute::reference("documentationUri", "The scheme's documentation.", &["external"])),
    ro(Attribute::new("primary", T::Boolean, "Whether this is the preferred scheme.")),
];

/// The `securityEvents` block RFC 9967 §4 adds to the ServiceProviderConfig.
static SECURITY_EVENTS_SUBS: &[Attribute] = &[
    ro(Attribute::string("asyncRequest", "Whether requests may complete asynchronously.")
        .canonical(&["none", "long", "request"])),
    ro(Attribute::string("eventUris", "The SET event URIs the server generates.").multi()),
];

/// The schema of the ServiceProviderConfig resource (RFC 7643 §5, §8.7.2).
pub static SERVICE_PROVIDER_CONFIG_SCHEMA: Schema = Schema {
    id: SERVICE_PROVIDER_CONFIG_URN,
    name: "ServiceProviderConfig",
    description: "Schema for representing the service provider's configuration.",
    attributes: &[
        ro(Attribute::reference("documentationUri", "The service provider's help documentation.", &["external"])),
        supported("patch", "PATCH configuration options."),
        ro(Attribute::complex("bulk", "Bulk configuration options.", BULK_SUBS).required()),
        ro(Attribute::complex("filter", "Filter options.", FILTER_SUBS).required()),
        supported("changePassword", "Change-password configuration options."),
        supported("sort", "Sort configuration options."),
        supported("etag", "ETag configuration options."),
        ro(Attribute::complex("pagination", "Pagination configuration options (RFC 9865 §4).", PAGINATION_SUBS)),
        ro(Attribute::complex("securityEvents", "Security event capabilities (RFC 9967 §4).", SECURITY_EVENTS_SUBS)),
        ro(Attribute::complex("authenticationSchemes", "Supported authentication schemes.", AUTH_SCHEME_SUBS)
            .multi()
            .required()),
    ],
};

/// The schemas that describe the discovery resources themselves, listed in `/Schemas` after the
/// resource types' schemas.
pub static META_SCHEMAS: &[&Schema] = &[&SERVICE_PROVIDER_CONFIG_SCHEMA, &RESOURCE_TYPE_SCHEMA, &SCHEMA_SCHEMA];

/// Every resource type scimbox serves.
pub static RESOURCE_TYPES: &[&ResourceType] = &[&USER_RESOURCE, &GROUP_RESOURCE];

/// Every schema scimbox serves, in `/Schemas` order.
pub fn all_schemas() -> Vec<&'static Schema> {
    let mut out: Vec<&'static Schema> = Vec::new();
    for rt in RESOURCE_TYPES {
        for s in rt.schemas() {
            if !out.iter().any(|o| o.id == s.id) {
                out.push(s);
            }
        }
    }
    out.extend(META_SCHEMAS.iter().copied());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_schema_has_the_rfc_attributes() {
        for name in ["userName", "name", "emails", "addresses", "groups", "x509Certificates", "password"] {
            assert!(USER_SCHEMA.attribute(name).is_some(), "{name}");
        }
        assert!(USER_SCHEMA.attribute("USERNAME").is_some(), "names match case-insensitively");
        let user_name = USER_SCHEMA.attribute("userName").unwrap();
        assert!(user_name.required && !user_name.case_exact);
        assert_eq!(user_name.uniqueness, Uniqueness::Server);
        let pw = USER_SCHEMA.attribute("password").unwrap();
        assert_eq!((pw.mutability, pw.returned), (Mutability::WriteOnly, Returned::Never));
    }

    #[test]
    fn schema_json_is_rfc_shaped() {
        let v = USER_SCHEMA.to_json("http://h/scim/v2");
        assert_eq!(v["id"], USER_URN);
        let emails = v["attributes"].as_array().unwrap().iter().find(|a| a["name"] == "emails").unwrap();
        assert_eq!(emails["multiValued"], true);
        assert_eq!(emails["subAttributes"][2]["canonicalValues"][0], "work");
        assert_eq!(v["meta"]["location"], format!("http://h/scim/v2/Schemas/{USER_URN}"));
    }

    /// The `accounts` example is what the caller read from the registry, and a valid payload
    /// against that registry; without an account there is none.
    #[test]
    fn accounts_example_comes_from_the_caller() {
        let accounts =
            |v: &Value| v["attributes"].as_array().unwrap().iter().find(|a| a["name"] == "accounts").cloned();
        let mut v = USER_SCHEMA.to_json("http://h");
        assert!(accounts(&v).unwrap().get("canonicalValues").is_none(), "the static table names no account");
        let example = AccountsExample::Registered { account_id: "ACC-\"1".into(), role: Some("Reader".into()) };
        describe_accounts(&mut v, &example);
        let attr = accounts(&v).unwrap();
        let payload = attr["canonicalValues"][0].as_str().unwrap();
        assert_eq!(payload, r#"{"accountId":"ACC-\"1","roles":["Reader"],"teams":[],"status":"Active"}"#);
        let cat = crate::accounts::Catalogue {
            accounts: Some(["ACC-\"1".to_owned()].into()),
            roles: Some(vec!["Reader".into()]),
        };
        assert!(crate::accounts::parse_payload(payload, &cat).is_ok());
        for (example, words) in [
            (AccountsExample::NoAccounts, "register accounts first with `scimbox account add`"),
            (AccountsExample::Unread, "a request with a bearer token is shown an example"),
        ] {
            describe_accounts(&mut v, &example);
            let attr = accounts(&v).unwrap();
            assert!(attr.get("canonicalValues").is_none(), "{attr}");
            assert!(attr["description"].as_str().unwrap().contains(words), "{attr}");
        }
        let mut group = GROUP_SCHEMA.to_json("http://h");
        let before = group.clone();
        describe_accounts(&mut group, &example);
        assert_eq!(group, before, "a schema without accounts is left alone");
    }
}
