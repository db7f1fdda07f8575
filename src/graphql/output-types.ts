import {
  GraphQLBoolean,
  GraphQLFloat,
  GraphQLID,
  GraphQLList,
  GraphQLObjectType,
  GraphQLString,
  type GraphQLFieldConfigMap,
  type GraphQLOutputType,
} from 'graphql';
import { DeclarationError } from '../core/dispatch.js';
import type { FieldInfo, SchemaRegistry } from '../core/result-schemas.js';
import { camelCase, pascalCase } from './names.js';
import { DateScalar, DateTimeScalar, SafeIntScalar } from './scalars.js';

const SCALARS: Record<string, GraphQLOutputType> = {
  object_id: GraphQLID,
  string: GraphQLString,
  int: SafeIntScalar,
  float: GraphQLFloat,
  bool: GraphQLBoolean,
  datetime: DateTimeScalar,
  date: DateScalar,
};

/**
 * GraphQL object types made from the YAML result schemas, one per schema (`merchandise` → `MerchandiseType`,
 * `group_brief` → `GroupBriefType`). Their values are records the schema has already shaped (refs loaded in one
 * `$in` per ref field), so each field reads its snake_case key: the YAML stays the only description of the output.
 */
export class OutputTypes {
  private readonly bySchema = new Map<string, GraphQLObjectType>();

  constructor(
    private readonly schemas: SchemaRegistry,
    private readonly claimName: (name: string, where: string) => void,
  ) {}

  /** The type of one result schema (built once, with the schemas it references). */
  forSchema(name: string): GraphQLObjectType {
    const known = this.bySchema.get(name);
    if (known) return known;
    const schema = this.schemas.get(name);
    if (!schema) throw new DeclarationError(`graphql ${name}`, 'no such result schema');
    const type = this.objectType(`${pascalCase(name)}Type`, schema.fields, `${schema.file}: ${name}`);
    this.bySchema.set(name, type);
    return type;
  }

  private objectType(typeName: string, fields: FieldInfo[], where: string): GraphQLObjectType {
    this.claimName(typeName, where);
    return new GraphQLObjectType({
      name: typeName,
      // a thunk: referenced schemas are built on first use, in any order
      fields: () => {
        const config: GraphQLFieldConfigMap<Record<string, unknown>, unknown> = {};
        for (const field of fields) {
          const name = camelCase(field.name);
          if (name in config) throw new DeclarationError(`${where}.${field.name}`, `two fields are both called "${name}" in GraphQL`);
          const key = field.name;
          config[name] = {
            type: this.fieldType(typeName, field, where),
            ...(field.note ? { description: field.note } : {}),
            resolve: (record) => record[key],
          };
        }
        return config;
      },
    });
  }

  private fieldType(parent: string, field: FieldInfo, where: string): GraphQLOutputType {
    switch (field.type) {
      case 'object_ref':
        return this.forSchema(field.schema as string);
      case 'list':
        return new GraphQLList(field.schema ? this.forSchema(field.schema) : (SCALARS[field.items as string] as GraphQLOutputType));
      case 'object':
        return this.objectType(`${parent.replace(/Type$/, '')}${pascalCase(field.name)}Type`, field.fields ?? [], `${where}.${field.name}`);
      default:
        return SCALARS[field.type] as GraphQLOutputType;
    }
  }
}
