import { defineResource } from '../../core/resource.js';

/** Towar — seed 001's merchandise, field for field (`displayName`, `defaultLat`, `lastLon`, …), plus its firms. */
export default defineResource({
  name: 'merchandise',
  summary: 'Towary (merchandise)',
  titleZh: '商品',
  softDelete: true,
  fields: {
    display_name: { type: 'M string(1,255)', note: 'nazwa wyświetlana' },
    default_address_postalcode: { type: 'O string(0,16)', note: 'kod pocztowy adresu domyślnego' },
    default_address_string: { type: 'O string(0,255)', note: 'adres domyślny' },
    default_lat: { type: 'O float(-90,90)', note: 'szerokość geograficzna adresu domyślnego' },
    default_lon: { type: 'O float(-180,180)', note: 'długość geograficzna adresu domyślnego' },
    last_lat: { type: 'O float(-90,90)', note: 'ostatnia znana szerokość geograficzna' },
    last_lon: { type: 'O float(-180,180)', note: 'ostatnia znana długość geograficzna' },
    firm_id: { type: 'O object_id', note: 'firma, do której należy towar' },
    supplier_id: { type: 'O object_id', note: 'firma dostawcy' },
  },
  references: { firm_id: 'firm', supplier_id: 'firm' },
  indexes: [
    { key: { display_name: 1, _id: 1 }, name: 'display_name_1__id_1' },
    { key: { firm_id: 1, _id: -1 }, name: 'firm_id_1__id_-1' },
    { key: { supplier_id: 1, _id: -1 }, name: 'supplier_id_1__id_-1' },
    { key: { default_address_postalcode: 1, _id: -1 }, name: 'default_address_postalcode_1__id_-1' },
    { key: { created_at: -1, _id: -1 }, name: 'created_at_-1__id_-1' },
  ],
  actions: (std) => ({
    get: std.get({ result: 'merchandise' }),
    find: std.find({
      result: 'merchandise',
      filters: {
        display_name: ['eq', 'icontains', 'istartswith'],
        firm_id: ['eq', 'in', 'isnull'],
        supplier_id: ['eq'],
        default_address_postalcode: ['eq', 'istartswith'],
        created_at: ['gte', 'lte'],
      },
      sortable: ['display_name', '_id', 'created_at'],
    }),
    create: std.create(),
    update: std.update(),
    mark_delete: std.markDelete(),
    batch_create: std.batchCreate(),
  }),
});
