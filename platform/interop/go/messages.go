package interop

import (
	"strings"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/dynamicpb"
)

// ---- messages of protocol section 3.1, from descriptors ----

type field struct {
	name     string
	number   int32
	kind     descriptorpb.FieldDescriptorProto_Type
	typeName string
	repeated bool
}

func message(name string, fields ...field) *descriptorpb.DescriptorProto {
	m := &descriptorpb.DescriptorProto{Name: proto.String(name)}
	for _, f := range fields {
		label := descriptorpb.FieldDescriptorProto_LABEL_OPTIONAL
		if f.repeated {
			label = descriptorpb.FieldDescriptorProto_LABEL_REPEATED
		}
		fd := &descriptorpb.FieldDescriptorProto{
			Name: proto.String(f.name), Number: proto.Int32(f.number), Type: f.kind.Enum(), Label: label.Enum(),
		}
		if f.typeName != "" {
			fd.TypeName = proto.String(f.typeName)
		}
		m.Field = append(m.Field, fd)
	}
	return m
}

const (
	str  = descriptorpb.FieldDescriptorProto_TYPE_STRING
	enum = descriptorpb.FieldDescriptorProto_TYPE_ENUM
	msg  = descriptorpb.FieldDescriptorProto_TYPE_MESSAGE
	up   = ".mondoo.mql.upstream.v1."
)

// Messages are the protocol's messages (section 3.1) by short name, built from descriptors.
var Messages = buildMessages()

func buildMessages() map[string]protoreflect.MessageDescriptor {
	response := message("HealthCheckResponse",
		field{"status", 1, enum, ".mondoo.cnquery.health.v1.HealthCheckResponse.ServingStatus", false},
		field{"time", 2, str, "", false}, field{"apiVersion", 3, str, "", false}, field{"build", 4, str, "", false})
	serving := &descriptorpb.EnumDescriptorProto{Name: proto.String("ServingStatus")}
	for i, name := range []string{"UNKNOWN", "SERVING", "NOT_SERVING", "SERVICE_UNKNOWN"} {
		serving.Value = append(serving.Value, &descriptorpb.EnumValueDescriptorProto{Name: proto.String(name), Number: proto.Int32(int32(i))})
	}
	response.EnumType = append(response.EnumType, serving)
	health := &descriptorpb.FileDescriptorProto{
		Name: proto.String("health.proto"), Package: proto.String("mondoo.cnquery.health.v1"), Syntax: proto.String("proto3"),
		MessageType: []*descriptorpb.DescriptorProto{message("HealthCheckRequest", field{"service", 1, str, "", false}), response},
	}

	agentInfo := message("AgentInfo",
		field{"mrn", 1, str, "", false}, field{"version", 2, str, "", false}, field{"build", 3, str, "", false},
		field{"platform_name", 4, str, "", false}, field{"platform_release", 5, str, "", false},
		field{"platform_arch", 6, str, "", false}, field{"platform_ip", 7, str, "", false},
		field{"platform_hostname", 8, str, "", false}, field{"labels", 18, msg, up + "AgentInfo.LabelsEntry", true},
		field{"platform_id", 20, str, "", false})
	entry := message("LabelsEntry", field{"key", 1, str, "", false}, field{"value", 2, str, "", false})
	entry.Options = &descriptorpb.MessageOptions{MapEntry: proto.Bool(true)}
	agentInfo.NestedType = append(agentInfo.NestedType, entry)
	upstream := &descriptorpb.FileDescriptorProto{
		Name: proto.String("upstream.proto"), Package: proto.String("mondoo.mql.upstream.v1"), Syntax: proto.String("proto3"),
		MessageType: []*descriptorpb.DescriptorProto{
			agentInfo,
			message("AgentRegistrationRequest", field{"token", 1, str, "", false}, field{"name", 2, str, "", false},
				field{"agent_info", 3, msg, up + "AgentInfo", false}),
			message("ServiceAccountCredentials", field{"mrn", 1, str, "", false}, field{"parent_mrn", 2, str, "", false},
				field{"private_key", 3, str, "", false}, field{"certificate", 4, str, "", false},
				field{"api_endpoint", 5, str, "", false}, field{"scope_mrn", 6, str, "", false}),
			message("AgentRegistrationConfirmation", field{"agent_mrn", 1, str, "", false},
				field{"credential", 2, msg, up + "ServiceAccountCredentials", false}),
			message("Mrn", field{"mrn", 1, str, "", false}),
			message("Confirmation", field{"mrn", 1, str, "", false}),
			message("Ping"), message("Pong"), message("AgentCheckinResponse"),
		},
	}
	files, err := protodesc.NewFiles(&descriptorpb.FileDescriptorSet{File: []*descriptorpb.FileDescriptorProto{health, upstream}})
	if err != nil {
		panic(err)
	}
	out := map[string]protoreflect.MessageDescriptor{}
	for _, name := range []string{
		"mondoo.cnquery.health.v1.HealthCheckRequest", "mondoo.cnquery.health.v1.HealthCheckResponse",
		"mondoo.mql.upstream.v1.AgentInfo", "mondoo.mql.upstream.v1.AgentRegistrationRequest",
		"mondoo.mql.upstream.v1.AgentRegistrationConfirmation", "mondoo.mql.upstream.v1.Mrn",
		"mondoo.mql.upstream.v1.Confirmation", "mondoo.mql.upstream.v1.Ping", "mondoo.mql.upstream.v1.Pong",
		"mondoo.mql.upstream.v1.AgentCheckinResponse",
	} {
		d, err := files.FindDescriptorByName(protoreflect.FullName(name))
		if err != nil {
			panic(err)
		}
		short := name[strings.LastIndex(name, ".")+1:]
		out[short] = d.(protoreflect.MessageDescriptor)
	}
	return out
}

// NewMessage makes a message and sets its string fields.
func NewMessage(name string, strings map[string]string) *dynamicpb.Message {
	m := dynamicpb.NewMessage(Messages[name])
	for k, v := range strings {
		m.Set(Messages[name].Fields().ByName(protoreflect.Name(k)), protoreflect.ValueOfString(v))
	}
	return m
}

// Get reads a field of a message.
func Get(m *dynamicpb.Message, name string) protoreflect.Value {
	return m.Get(m.Descriptor().Fields().ByName(protoreflect.Name(name)))
}
