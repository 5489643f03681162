// GraphQL's own error messages quote what was sent: graphql-js prints a
// variable's whole value when it does not coerce ("Variable "$i" got invalid
// value { name: "A", value: "hunter2" }"), a scalar quotes the literal it
// cannot read, the parser quotes the token it did not expect. A secrets
// service must never send a value back, so each message that could quote one
// is reworded here: it still says which variable, argument or field, and what
// type was expected, never what was sent. Messages that quote only names
// from the schema or the document's structure are left as they are.
import { GraphQLError } from 'graphql';
import type { Plugin } from 'graphql-yoga';

const EXPECTED = (type: string) => `Expected a value of type "${type}".`;
/** What this module writes: to be left as it is. */
const REWORDED =
  /^(?:Expected a value of type "[^"]+"\.|Expected value of type "[^"]+"\.|Invalid value\.|Variable "\$\w+" got an invalid value|Argument "\w+" has an invalid value\.$)/;

/**
 * The part of a leaf or input-object message that holds no submitted value.
 * Each rule matches a message template of graphql-js 16 or graphql-scalars;
 * anything else that mentions a value becomes "Invalid value.".
 */
function describeInvalidValue(message: string): string {
  // Templates that quote only schema names (and a submitted key, which is structure, not a value).
  if (/^Expected type "\w+" to be an object\.$/.test(message)) return message;
  if (/^Field "[\w.]+" of required type "[^"]+" was not provided\.$/.test(message)) return message;
  if (/^Field "\w+" is not defined by type "\w+"\.( Did you mean( "\w+",?( or)?)+\?)?$/.test(message)) return message;
  if (/^Exactly one key must be specified for OneOf type "\w+"\.$/.test(message)) return message;
  let match: RegExpMatchArray | null;
  // "String cannot represent a non string value: 987654321", "DateTime cannot represent an invalid date-time-string hunter2."
  if ((match = message.match(/^(\w+) cannot represent /))) return EXPECTED(match[1]!);
  if ((match = message.match(/^Enum "(\w+)" cannot represent /))) return EXPECTED(match[1]!);
  if ((match = message.match(/ does not exist in "(\w+)" enum\.( Did you mean the enum value[^?]*\?)?$/))) return EXPECTED(match[1]!);
  if ((match = message.match(/^Expected type "(\w+)"\./))) return EXPECTED(match[1]!);
  if ((match = message.match(/^Expected value of type "([^"]+)", found /))) return `Expected value of type "${match[1]}".`;
  return 'Invalid value.';
}

/** `Variable "$i" got invalid value <the value> at "i.value"; <why>` without the value. */
function describeVariableError(error: GraphQLError, name: string): string {
  const why = error.originalError?.message;
  // The value sits between the fixed head and the path; the path ends the
  // head and names only schema fields and list indices.
  const head = why !== undefined && error.message.endsWith(`; ${why}`) ? error.message.slice(0, -(why.length + 2)) : '';
  const at = head.lastIndexOf(` at "${name}`);
  const path = at >= 0 && /^ at "\w+(?:\.\w+|\[\d+\])*"$/.test(head.slice(at)) ? head.slice(at) : '';
  return `Variable "$${name}" got an invalid value${path}: ${why === undefined ? 'Invalid value.' : describeInvalidValue(why)}`;
}

/**
 * "Syntax Error: Unexpected Name "hunter2"." → "Syntax Error: Unexpected Name.";
 * lexer errors lose what follows their colon ("Unexpected character: "x".").
 */
function describeSyntaxError(message: string): string {
  const rest = message.slice('Syntax Error: '.length);
  const safe = rest.replace(/\b(Name|String|BlockString|Int|Float|Comment) ".*$/s, '$1.').replace(/: .*$/s, '.');
  return `Syntax Error: ${safe}`;
}

/** The error as it may be shown and logged: the same, or a copy whose message quotes nothing that was sent. */
export function withoutSubmittedValues(error: GraphQLError): GraphQLError {
  const { message } = error;
  let safe = message;
  const variable = message.match(/^Variable "\$(\w+)" got invalid value /);
  const argument = message.match(/^Argument "\w+"(?= has invalid value )/);
  if (variable) safe = describeVariableError(error, variable[1]!);
  // yoga quotes the key of a request parameter it does not know.
  else if (/^Unexpected parameter ".*" in the request body\.$/s.test(message)) safe = 'Unexpected parameter in the request body.';
  else if (argument) safe = `${argument[0]} has an invalid value.`;
  else if (message.startsWith('Syntax Error: ')) safe = describeSyntaxError(message);
  // Whatever speaks of a value: one of the templates above, or "Invalid value."
  // (but for what this function wrote itself: errors can pass it twice).
  else if (/\bvalue\b|, found | cannot represent /i.test(message) && !REWORDED.test(message)) safe = describeInvalidValue(message);
  if (safe === message) return error;
  return new GraphQLError(safe, {
    nodes: error.nodes,
    source: error.source,
    positions: error.positions,
    path: error.path,
    extensions: error.extensions,
  });
}

/**
 * Validation errors (a literal of the wrong type, say) are returned by yoga
 * without passing its error masking: they are reworded here. Parse, variable
 * and request errors pass the masking, which rewords them (yoga.ts).
 */
export function useValueFreeValidationErrors(): Plugin {
  return {
    onValidate:
      () =>
      ({ result, setResult }) => {
        if (result.length > 0) setResult(result.map((error) => (error instanceof GraphQLError ? withoutSubmittedValues(error) : error)));
      },
  };
}
