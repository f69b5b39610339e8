// graphql-schema-linter configuration for schema.graphql (run by .ci/schema/check.sh).
//
// Every built-in rule is on except three sorting rules, which conflict with deliberate design:
// - type-fields-sorted-alphabetically, input-object-fields-sorted-alphabetically: fields are in
//   the order of the Rust types (id first, then what the object is, its relations, timestamps
//   and `version` last), which is how the docs and GraphiQL present them;
// - enum-values-sorted-alphabetically: enum values follow the domain (levels top-down, statuses
//   in lifecycle order: DRAFT → PUBLISHED → IN_PROGRESS → COMPLETED), not the alphabet.
module.exports = {
  rules: [
    // Descriptions: every type, field, argument, enum value and input field.
    'types-have-descriptions',
    'fields-have-descriptions',
    'arguments-have-descriptions',
    'enum-values-have-descriptions',
    'input-object-values-have-descriptions',
    'descriptions-are-capitalized',
    // Hygiene.
    'defined-types-are-used',
    'deprecations-have-a-reason',
    // Naming.
    'types-are-capitalized',
    'fields-are-camel-cased',
    'input-object-values-are-camel-cased',
    'enum-values-all-caps',
    // Relay: connections, their arguments and PageInfo follow the cursor connections spec.
    'relay-connection-types-spec',
    'relay-connection-arguments-spec',
    'relay-page-info-spec',
    'interface-fields-sorted-alphabetically',
  ],
};
